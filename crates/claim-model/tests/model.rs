//! Exhaustive checks of the claim protocol: every fix on, then each fix
//! off on its own. Run with `--nocapture` to see the state counts, the
//! times and the counterexamples.

use penaxtra_claim_model::{Config, Fixes, LeaseGuard, Outcome, check, names};

/// Safety properties that must hold in the main configuration.
const SAFETY: [&str; 3] = [
    names::NO_DUPLICATE_CREATED,
    names::LINKED_ISSUE_IS_LIVE,
    names::DECISION_KEPT,
];

/// `sometimes` properties that show the main configuration is not vacuous.
const EXAMPLES: [&str; 5] = [
    names::CREATED_AND_LINKED,
    names::CRASH_TAKEOVER,
    names::RECOVERED_AFTER_DROP,
    names::RECOVERED_BY_ID_EARLY,
    names::PERSON_DECIDED,
];

fn report(title: &str, cfg: &Config, out: &Outcome) {
    println!(
        "== {title}: {} unique states in {:.2?} (t 0..={}, L={} RT={} G={} W={}, skews {:?}, {:?})",
        out.states,
        out.elapsed,
        cfg.t_max,
        cfg.lease,
        cfg.rt,
        cfg.lag,
        cfg.window,
        cfg.skews,
        cfg.fixes
    );
}

fn print_path(name: &str, out: &Outcome) {
    if let Some(lines) = out.discovery(name) {
        println!("   path to {name}:");
        for l in lines {
            println!("     {l}");
        }
    }
}

fn run(title: &str, cfg: Config, stop_at: Option<&'static str>) -> Outcome {
    let out = check(cfg.clone(), 1, stop_at);
    report(title, &cfg, &out);
    out
}

/// Turns one fix off in the main configuration and expects the checker
/// to find a counterexample to `property`.
fn counterexample(title: &str, cfg: Config, property: &'static str) {
    let out = run(title, cfg, Some(property));
    assert!(
        out.discovery(property).is_some(),
        "{title}: expected a counterexample to {property}"
    );
    print_path(property, &out);
}

#[test]
fn all_fixes_hold() {
    let cfg = Config::default_check();
    let out = run("every fix on", cfg, None);
    for name in SAFETY {
        if let Some(path) = out.discovery(name) {
            panic!("{name} violated:\n{}", path.join("\n"));
        }
    }
    for name in EXAMPLES {
        assert!(out.discovery(name).is_some(), "no example of {name}");
        print_path(name, &out);
    }
    assert!(out.discovery(names::DUPLICATE_MADE).is_none());
}

#[test]
fn lease_guard_is_needed() {
    let fixes = Fixes {
        lease_guard: LeaseGuard::Off,
        ..Fixes::all()
    };
    counterexample(
        "lease_guard off",
        Config::default_check().with_fixes(fixes),
        names::NO_DUPLICATE_CREATED,
    );
}

#[test]
fn db_clock_is_needed() {
    let fixes = Fixes {
        db_clock: false,
        ..Fixes::all()
    };
    counterexample(
        "db_clock off",
        Config::default_check().with_fixes(fixes),
        names::NO_DUPLICATE_CREATED,
    );
}

/// With the target guard (`valid_until - now >= RT`) a create commits by the
/// time the lease ends, so the doubt `until` is already late enough: turning
/// `doubt_from_expiry_plus_timeout` off alone finds nothing. This test
/// asserts exactly that, so that a change making it load-bearing shows up.
#[test]
fn doubt_plus_timeout_is_redundant_with_the_margin_guard() {
    let fixes = Fixes {
        doubt_from_expiry_plus_timeout: false,
        ..Fixes::all()
    };
    let out = run(
        "doubt_from_expiry_plus_timeout off (margin guard on)",
        Config::default_check().with_fixes(fixes),
        None,
    );
    for name in SAFETY {
        assert!(out.discovery(name).is_none(), "{name} violated");
    }
}

/// The configuration where the guard only checks that the lease is still
/// valid: `RT = 2` so that "valid" (`> 0` left) and "margin" (`>= RT` left)
/// differ on integer time.
fn weak_guard(plus_rt: bool) -> Config {
    Config {
        rt: 2,
        ..Config::default_check()
    }
    .with_fixes(Fixes {
        lease_guard: LeaseGuard::Valid,
        doubt_from_expiry_plus_timeout: plus_rt,
        ..Fixes::all()
    })
}

/// With a guard that only checks the lease is valid (the create may commit
/// up to `RT` after the lease ends), the doubt must reach `until + RT`.
#[test]
fn doubt_plus_timeout_is_needed_with_a_weaker_guard() {
    counterexample(
        "guard = lease still valid, doubt_from_expiry_plus_timeout off",
        weak_guard(false),
        names::NO_DUPLICATE_CREATED,
    );
}

/// ... and with it on, the weaker guard is enough: either fix closes the
/// late-commit gap.
#[test]
fn doubt_plus_timeout_makes_the_weaker_guard_safe() {
    let out = run(
        "guard = lease still valid, doubt_from_expiry_plus_timeout on",
        weak_guard(true),
        None,
    );
    for name in SAFETY {
        assert!(out.discovery(name).is_none(), "{name} violated");
    }
}

/// `keep_created_ids` is not load-bearing for safety while `G <= W` (the
/// window search finds the issue anyway); what it buys is a recovery by id
/// before any search could show the issue (no wait for the window).
#[test]
fn keep_created_ids_buys_early_recovery() {
    let fixes = Fixes {
        keep_created_ids: false,
        ..Fixes::all()
    };
    let off = run(
        "keep_created_ids off",
        Config::default_check().with_fixes(fixes),
        None,
    );
    for name in SAFETY {
        assert!(off.discovery(name).is_none(), "{name} violated");
    }
    assert!(off.discovery(names::RECOVERED_BY_ID_EARLY).is_none());
    let on = run(
        "keep_created_ids on (until an early recovery is found)",
        Config::default_check(),
        Some(names::RECOVERED_BY_ID_EARLY),
    );
    assert!(on.discovery(names::RECOVERED_BY_ID_EARLY).is_some());
    print_path(names::RECOVERED_BY_ID_EARLY, &on);
}

#[test]
fn link_cas_keeps_a_decision() {
    let fixes = Fixes {
        link_cas: false,
        ..Fixes::all()
    };
    counterexample(
        "link_cas off",
        Config::default_check().with_fixes(fixes),
        names::DECISION_KEPT,
    );
}

/// Search lag beyond the window: duplicates are made (expected), and
/// healing leaves one live issue, linked.
#[test]
fn lag_beyond_window_heals() {
    let cfg = Config::lag_beyond_window();
    let out = run("lag beyond window, every fix on", cfg, None);
    assert!(out.discovery(names::NO_DUPLICATE_CREATED).is_some());
    print_path(names::NO_DUPLICATE_CREATED, &out);
    for name in [
        names::AT_MOST_ONE_LIVE_AFTER_HEAL,
        names::LINKED_ISSUE_IS_LIVE,
        names::DECISION_KEPT,
    ] {
        if let Some(path) = out.discovery(name) {
            panic!("{name} violated:\n{}", path.join("\n"));
        }
    }
    assert!(out.discovery(names::HEALED).is_some());
    print_path(names::HEALED, &out);
}

#[test]
fn link_cas_keeps_the_link_on_the_kept_issue() {
    let fixes = Fixes {
        link_cas: false,
        ..Fixes::all()
    };
    counterexample(
        "lag beyond window, link_cas off",
        Config::lag_beyond_window().with_fixes(fixes),
        names::LINKED_ISSUE_IS_LIVE,
    );
}

/// Larger: three replicas (one skewed), a longer horizon. Minutes in a
/// debug build; run with
/// `cargo test --release -p penaxtra-claim-model -- --ignored --nocapture`.
#[test]
#[ignore = "large; run in release"]
fn all_fixes_hold_larger() {
    let cfg = Config {
        skews: vec![0, 0, 5],
        t_max: 7,
        ..Config::default_check()
    };
    let out = check(cfg.clone(), 2, None);
    report("every fix on, three replicas", &cfg, &out);
    for name in SAFETY {
        if let Some(path) = out.discovery(name) {
            panic!("{name} violated:\n{}", path.join("\n"));
        }
    }
    for name in EXAMPLES {
        assert!(out.discovery(name).is_some(), "no example of {name}");
    }
}
