//! Runs one configuration and prints what it found (for measuring).
use penaxtra_claim_model::{Config, Fixes, LeaseGuard, check};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map(String::as_str).unwrap_or("default");
    let t_max: i16 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(8);
    let mut cfg = match which {
        "lag" => Config::lag_beyond_window(),
        _ => Config::default_check(),
    };
    cfg.t_max = t_max;
    for a in &args {
        if let Some(v) = a.strip_prefix("G=") {
            cfg.lag = v.parse().unwrap_or(cfg.lag);
        }
        if let Some(v) = a.strip_prefix("W=") {
            cfg.window = v.parse().unwrap_or(cfg.window);
        }
        if let Some(v) = a.strip_prefix("RT=") {
            cfg.rt = v.parse().unwrap_or(cfg.rt);
        }
        if let Some(v) = a.strip_prefix("L=") {
            cfg.lease = v.parse().unwrap_or(cfg.lease);
        }
        if let Some(v) = a.strip_prefix("V=") {
            cfg.version_cap = v.parse().unwrap_or(cfg.version_cap);
        }
    }
    if let Some(r) = args.get(3).and_then(|a| a.parse::<usize>().ok()) {
        cfg.skews = vec![0; r];
        cfg.skews[r - 1] = 5;
    }
    let mut fixes = Fixes::all();
    for off in args.iter().skip(4) {
        match off.as_str() {
            "lease_guard" => fixes.lease_guard = LeaseGuard::Off,
            "lease_valid" => fixes.lease_guard = LeaseGuard::Valid,
            "db_clock" => fixes.db_clock = false,
            "plus_rt" => fixes.doubt_from_expiry_plus_timeout = false,
            "keep" => fixes.keep_created_ids = false,
            "cas" => fixes.link_cas = false,
            _ => {}
        }
    }
    let stop = args.iter().find_map(|a| a.strip_prefix("stop=")).map(|n| {
        penaxtra_claim_model::ClaimModel::new(cfg.clone())
            .properties_names()
            .into_iter()
            .find(|p| *p == n)
            .unwrap_or("no_duplicate_created")
    });
    let out = check(cfg.with_fixes(fixes), 1, stop);
    println!("states={} elapsed={:?}", out.states, out.elapsed);
    for (name, lines) in &out.discoveries {
        println!("== {name}");
        for l in lines {
            println!("   {l}");
        }
    }
}
