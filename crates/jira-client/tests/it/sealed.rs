//! Sealed tokens through their public text forms, as a host stores them.

use jira_client::sealed::{
    SealError, SealedToken, SealingKeyPair, SealingPublicKey, SealingSecretKey,
};
use proptest::prelude::*;
use secrecy::{ExposeSecret, SecretString};

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    // Tokens of 8+ characters: a shorter one ("0", "v1") can occur by
    // chance in the random base64 text or the version prefix.
    #[test]
    fn any_token_round_trips_and_never_shows(token in "\\PC{8,200}") {
        let keys = SealingKeyPair::generate();
        let public: SealingPublicKey = keys.public_key().to_string().parse().unwrap();
        let sealed = SealedToken::seal(&public, &SecretString::from(token.clone())).unwrap();
        let text = sealed.to_string();
        prop_assert!(!text.contains(&token));
        let debug = format!("{:?}", sealed);
        prop_assert!(!debug.contains(&token));
        let secret: SealingSecretKey = keys.secret_key().to_text().expose_secret().parse().unwrap();
        let opened = text.parse::<SealedToken>().unwrap().open(&secret).unwrap();
        prop_assert_eq!(opened.expose_secret(), token.as_str());
    }

    #[test]
    fn reading_arbitrary_text_never_panics(text in "\\PC{0,120}") {
        let _ = text.parse::<SealedToken>();
        let _ = text.parse::<SealingPublicKey>();
        let _ = text.parse::<SealingSecretKey>();
        let prefixed = format!("pxsealed:v1:{text}");
        if let Ok(t) = prefixed.parse::<SealedToken>() {
            let keys = SealingKeyPair::generate();
            prop_assert_eq!(t.open(keys.secret_key()).unwrap_err(), SealError::WrongKeyOrTampered);
        }
    }
}

#[test]
fn a_token_sealed_for_one_key_does_not_open_with_another() {
    let alice = SealingKeyPair::generate();
    let bob = SealingKeyPair::generate();
    let sealed = SealedToken::seal(&alice.public_key(), &SecretString::from("pat")).unwrap();
    assert_eq!(
        sealed.open(bob.secret_key()).unwrap_err(),
        SealError::WrongKeyOrTampered
    );
    assert_eq!(
        sealed
            .to_string()
            .replacen("v1", "v7", 1)
            .parse::<SealedToken>()
            .unwrap_err(),
        SealError::UnknownVersion {
            what: "sealed token",
            version: "v7".into()
        }
    );
}
