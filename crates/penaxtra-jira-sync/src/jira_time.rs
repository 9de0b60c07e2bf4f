//! Jira's own timestamps. Staleness is judged on Jira's clock only: a
//! webhook's `timestamp`, an issue's `updated`, never the local clock.

/// Epoch milliseconds of a Jira datetime: `2026-11-30T22:43:09.123+0000`
/// (Cloud and Data Center) or RFC 3339.
pub(crate) fn jira_time_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.timestamp_millis())
}

/// The order issues were created in: Jira's `created`, then the id.
pub(crate) fn creation_order(i: &jira_model::Issue) -> (i64, i64) {
    (
        i.fields
            .created
            .as_deref()
            .and_then(jira_time_ms)
            .unwrap_or(i64::MAX),
        i.id.parse::<i64>().unwrap_or(i64::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_shapes() {
        assert_eq!(jira_time_ms("1970-01-01T00:00:01.500+0000"), Some(1_500));
        assert_eq!(jira_time_ms("1970-01-01T02:00:01.000+0200"), Some(1_000));
        assert_eq!(jira_time_ms("1970-01-01T00:00:02Z"), Some(2_000));
        assert_eq!(jira_time_ms("yesterday"), None);
    }
}
