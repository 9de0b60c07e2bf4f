//! A bench's settings from the environment.

// Each bench includes this file and reads one of the two forms.

/// The variable `name` parsed, or `default` when it is unset; an error
/// naming the variable when it does not parse.
#[allow(dead_code)]
pub fn var<T: std::str::FromStr>(
    name: &str,
    default: T,
) -> Result<T, Box<dyn std::error::Error + Send + Sync>> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("{name}={v:?} is not a valid number").into()),
        Err(_) => Ok(default),
    }
}

/// The variable `name` parsed, or `default` when it is unset or does not
/// parse.
#[allow(dead_code)]
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}
