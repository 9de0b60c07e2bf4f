/// Where a finding stands in Penaxtra.
///
/// ```
/// use penaxtra_mapping::FindingState;
/// let s: FindingState = "false_positive".parse().unwrap();
/// assert!(s.is_terminal());
/// assert_eq!(s.as_str(), "false_positive");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingState {
    /// `open`: found, nobody has looked yet.
    Open,
    /// `triaged`: being worked on.
    Triaged,
    /// `resolved`: fixed.
    Resolved,
    /// `accepted`: the risk is accepted.
    Accepted,
    /// `false_positive`: not a real weakness.
    FalsePositive,
}

impl FindingState {
    /// All states.
    pub const ALL: [FindingState; 5] = [
        FindingState::Open,
        FindingState::Triaged,
        FindingState::Resolved,
        FindingState::Accepted,
        FindingState::FalsePositive,
    ];

    /// The name as in the finding JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingState::Open => "open",
            FindingState::Triaged => "triaged",
            FindingState::Resolved => "resolved",
            FindingState::Accepted => "accepted",
            FindingState::FalsePositive => "false_positive",
        }
    }

    /// Whether the state ends the finding's life: resolved, accepted or
    /// false positive.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            FindingState::Resolved | FindingState::Accepted | FindingState::FalsePositive
        )
    }
}

crate::named::named_enum!(FindingState, UnknownState);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in FindingState::ALL {
            assert_eq!(s.as_str().parse::<FindingState>().unwrap(), s);
            assert_eq!(
                serde_json::from_str::<FindingState>(&serde_json::to_string(&s).unwrap()).unwrap(),
                s
            );
        }
        let e = "closed".parse::<FindingState>().unwrap_err();
        assert_eq!(e.code(), "unknown_state");
        assert!(e.to_string().contains("false_positive"));
    }

    #[test]
    fn terminal_states() {
        let terminal: Vec<_> = FindingState::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(
            terminal,
            [
                FindingState::Resolved,
                FindingState::Accepted,
                FindingState::FalsePositive
            ]
        );
    }
}
