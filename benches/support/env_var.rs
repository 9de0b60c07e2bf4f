//! A bench's settings from the environment.

/// The variable `name` parsed, or `default` when it is unset; an error
/// naming the variable when it does not parse.
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
