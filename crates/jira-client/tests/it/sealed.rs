//! Sealed tokens through their public text forms, as a host stores them.

use jira_client::sealed::{
    SealError, SealedToken, SealingKeyPair, SealingKeyring, SealingPublicKey, SealingSecretKey,
    TokenBinding,
};
use proptest::prelude::*;
use secrecy::{ExposeSecret, SecretString};

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    // Tokens of 8+ characters: a shorter one ("0", "v1") can occur by
    // chance in the random base64 text or the version prefix.
    #[test]
    fn any_token_round_trips_and_never_shows(
        token in "\\PC{8,200}",
        connection in "[\\p{L}\\p{N}_.:@/-]{1,31}", // at most 124 bytes, 125 with the "x" below
        host in "[a-z][a-z0-9-]{0,20}(\\.[a-z]{2,6}){1,2}",
        port in proptest::option::of(1u16..),
        https in any::<bool>(),
    ) {
        let keys = SealingKeyPair::generate();
        let scheme = if https { "https" } else { "http" };
        let base_url = match port {
            Some(port) => format!("{scheme}://{host}:{port}/jira"),
            None => format!("{scheme}://{host}"),
        };
        let binding = TokenBinding::for_base_url(&connection, &base_url).unwrap();
        let public: SealingPublicKey = keys.public_key().to_string().parse().unwrap();
        let sealed = SealedToken::seal(&public, &binding, &SecretString::from(token.clone())).unwrap();
        let text = sealed.to_string();
        prop_assert!(!text.contains(&token));
        let debug = format!("{:?}", sealed);
        prop_assert!(!debug.contains(&token));
        let ring: SealingKeyring = keys.secret_key().to_text().expose_secret().parse().unwrap();
        let back = text.parse::<SealedToken>().unwrap();
        let opened = back.open(&ring, &binding).unwrap();
        prop_assert_eq!(opened.expose_secret(), token.as_str());
        // Any other connection is refused, without the token in the error.
        let other = TokenBinding::for_base_url(&format!("{connection}x"), &base_url).unwrap();
        let e = back.open(&ring, &other).unwrap_err();
        let is_connection_mismatch = matches!(e, SealError::ConnectionMismatch { .. });
        prop_assert!(is_connection_mismatch);
        prop_assert!(!e.to_string().contains(&token));
        let debug = format!("{e:?}");
        prop_assert!(!debug.contains(&token));
    }

    #[test]
    fn reading_arbitrary_text_never_panics(text in "\\PC{0,120}") {
        let _ = text.parse::<SealedToken>();
        let _ = text.parse::<SealingPublicKey>();
        let _ = text.parse::<SealingSecretKey>();
        let _ = text.parse::<SealingKeyring>();
        let _ = TokenBinding::for_base_url(&text, &text);
        let keys = SealingKeyPair::generate();
        let binding = TokenBinding::for_base_url("c", "https://jira.example").unwrap();
        for prefixed in [
            format!("pxsealed:v1:{text}"),
            format!("pxsealed:v2:{}:{text}", keys.key_id()),
        ] {
            if let Ok(t) = prefixed.parse::<SealedToken>() {
                prop_assert!(t.open(&keys, &binding).is_err());
                prop_assert!(t.open_unbound_v1(&keys).is_err());
            }
        }
    }
}

#[test]
fn a_token_sealed_for_one_key_does_not_open_with_another() {
    let alice = SealingKeyPair::generate();
    let bob = SealingKeyPair::generate();
    let binding = TokenBinding::for_base_url("default", "https://jira.example").unwrap();
    let sealed =
        SealedToken::seal(&alice.public_key(), &binding, &SecretString::from("pat")).unwrap();
    assert_eq!(
        sealed.open(bob.secret_key(), &binding).unwrap_err(),
        SealError::UnknownKeyId {
            key_id: alice.key_id(),
            held: vec![bob.key_id()],
        }
    );
    assert_eq!(
        sealed
            .to_string()
            .replacen("v2", "v7", 1)
            .parse::<SealedToken>()
            .unwrap_err(),
        SealError::UnknownVersion {
            what: "sealed token",
            version: "v7".into()
        }
    );
}
