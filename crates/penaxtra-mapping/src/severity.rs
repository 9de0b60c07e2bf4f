/// How bad a finding is, ordered `Info < Low < Medium < High < Critical`.
///
/// ```
/// use penaxtra_mapping::Severity;
/// assert!(Severity::High > Severity::Medium);
/// assert_eq!("critical".parse::<Severity>().unwrap(), Severity::Critical);
/// assert!("urgent".parse::<Severity>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// `info`
    Info,
    /// `low`
    Low,
    /// `medium`
    Medium,
    /// `high`
    High,
    /// `critical`
    Critical,
}

impl Severity {
    /// All severities, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The name as in the finding JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

crate::named::named_enum!(Severity, UnknownSeverity);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MappingError;

    #[test]
    fn order_and_names() {
        assert!(Severity::ALL.windows(2).all(|w| w[0] < w[1]));
        for s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>().unwrap(), s);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert_eq!(" HIGH ".parse::<Severity>().unwrap(), Severity::High);
    }

    #[test]
    fn unknown_severity_is_a_clear_error() {
        let e = serde_json::from_str::<Severity>("\"urgent\"").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown severity \"urgent\": expected one of info, low, medium, high, critical"
        );
        let long = "x".repeat(500);
        let MappingError::UnknownSeverity { value } = long.parse::<Severity>().unwrap_err() else {
            panic!("wrong error")
        };
        assert_eq!(value.len(), 64);
    }
}
