use jira_model::limits::{
    ELLIPSIS, LABEL_MAX, SUMMARY_MAX, check_label, check_summary, fit_keeping_tail, fit_summary,
    longest_prefix_that_fits, to_label, truncate_utf16, utf16_len,
};
use proptest::prelude::*;

fn any_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            any::<char>(),
            prop::sample::select(vec![
                '😀', '𝄞', 'é', ' ', '\n', '\u{200B}', '\u{202E}', '\t'
            ]),
        ],
        0..400,
    )
    .prop_map(String::from_iter)
}

proptest! {
    #[test]
    fn fitted_summaries_are_valid_and_stable(s in any_text()) {
        let fitted = fit_summary(&s);
        prop_assert!(fitted.is_empty() || check_summary(&fitted).is_ok(), "{:?}", check_summary(&fitted));
        prop_assert!(utf16_len(&fitted) <= SUMMARY_MAX);
        prop_assert_eq!(fit_summary(&fitted), fitted.clone(), "not idempotent");
        prop_assert_eq!(fit_summary(&s), fitted, "not deterministic");
    }

    #[test]
    fn labels_are_valid(s in any_text()) {
        match to_label(&s) {
            Some(l) => {
                prop_assert!(check_label(&l).is_ok(), "{:?}", check_label(&l));
                prop_assert!(utf16_len(&l) <= LABEL_MAX);
            }
            None => prop_assert!(s.chars().all(|c| c.is_whitespace() || jira_model::text::is_invisible(c))),
        }
    }

    #[test]
    fn truncation_is_a_char_boundary_prefix(s in any_text(), max in 0usize..300) {
        let t = truncate_utf16(&s, max);
        prop_assert!(s.starts_with(t));
        prop_assert!(utf16_len(t) <= max);
        // Longest: one more character would not fit.
        if let Some(next) = s[t.len()..].chars().next() {
            prop_assert!(utf16_len(t) + next.len_utf16() > max);
        }
    }

    #[test]
    fn prefix_search_matches_a_linear_scan(s in any_text(), budget in 0usize..500) {
        let fits = |p: &str| utf16_len(p) * 3 <= budget;
        let found = longest_prefix_that_fits(&s, fits);
        let linear = s.char_indices().map(|(i, _)| i).chain([s.len()]).filter(|&i| fits(&s[..i])).max().map_or("", |i| &s[..i]);
        prop_assert_eq!(found, linear);
    }

    #[test]
    fn the_tail_always_stays(body in any_text(), tail in "[a-z\\[\\]|:/.]{0,40}", max in 0usize..200) {
        match fit_keeping_tail(&body, &tail, max) {
            Ok(out) => {
                prop_assert!(out.ends_with(&tail));
                prop_assert!(utf16_len(&out) <= max);
                let head = &out[..out.len() - tail.len()];
                prop_assert!(head == body || (head.ends_with(ELLIPSIS) && body.starts_with(&head[..head.len() - ELLIPSIS.len_utf8()])));
            }
            Err(_) => prop_assert!(utf16_len(&tail) + 1 > max && utf16_len(&body) + utf16_len(&tail) > max),
        }
    }
}
