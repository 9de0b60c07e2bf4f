//! Seal a Jira API token or Data Center PAT for the configuration file.
//!
//! The token is read from standard input (never from the command line,
//! where `ps` and shell history would keep it). It is sealed bound to one
//! connection (`--connection`, the id of the configuration it goes into;
//! `default` for the single `[jira]` section) and to the origin
//! (`scheme://host[:port]`) of that connection's Jira (`--base-url`): the
//! service refuses it for any other connection or Jira. With
//! `--public-key` it is sealed for an existing key; without, a new key pair
//! is generated and its secret half written to `--secret-key-out`
//! (created with mode 0600, never overwritten, never printed).
//!
//! ```sh
//! printf '%s' "$JIRA_API_TOKEN" | cargo run --example seal_token -- \
//!     --connection default --base-url https://acme.atlassian.net --secret-key-out penaxtra-sealing.key
//! printf '%s' "$JIRA_PAT" | cargo run --example seal_token -- \
//!     --connection tenant-42 --base-url https://jira.corp.example/jira --public-key pxsealpub:v1:…
//! ```
//!
//! Prints, on standard output, labelled lines: first
//! `sealed_token = "pxsealed:v2:…"` for `jira.credentials.sealed_token`,
//! then `key_id` (the key pair it was sealed for: the secret key with that
//! id must be in the service's key list), `bound_to` (connection and
//! origin), the public key (to seal the next token) and where the secret
//! key must live: in the service's secret store, given to it as
//! `secret_key_env` or `secret_key_file`. Exit code 2 on bad input, with a
//! message on standard error.

use clap::Parser;
use penaxtra_jira_sync::client::sealed::{
    SealedToken, SealingKeyPair, SealingPublicKey, TokenBinding,
};
use secrecy::{ExposeSecret, SecretString};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(about = "Seal a Jira token (read from stdin) for the configuration file")]
struct Cli {
    /// The connection the token belongs to (`default` for the `[jira]`
    /// section of a single-connection configuration).
    #[arg(long)]
    connection: String,
    /// The Jira base URL of that connection; the token opens only for its
    /// origin (scheme, host and port).
    #[arg(long)]
    base_url: String,
    /// Seal for this public key (`pxsealpub:v1:…`) instead of a new pair.
    #[arg(long, conflicts_with = "secret_key_out")]
    public_key: Option<String>,
    /// Where to write the secret key of a new pair (mode 0600; must not exist).
    #[arg(long, required_unless_present = "public_key")]
    secret_key_out: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let mut raw = String::new();
    std::io::stdin()
        .read_to_string(&mut raw)
        .map_err(|e| format!("cannot read the token from standard input: {e}"))?;
    let token = SecretString::from(raw.trim().to_string());
    drop(raw);
    if token.expose_secret().is_empty() {
        return Err("no token on standard input (pipe it in: printf '%s' \"$TOKEN\" | …)".into());
    }
    // Checked before a key file is written.
    let binding = TokenBinding::for_base_url(cli.connection.trim(), &cli.base_url)?;
    let (public, secret_at) = match (&cli.public_key, &cli.secret_key_out) {
        (Some(text), _) => (text.trim().parse::<SealingPublicKey>()?, None),
        (None, Some(path)) => {
            let pair = SealingKeyPair::generate();
            write_secret(path, &pair.secret_key().to_text())?;
            (pair.public_key(), Some(path.clone()))
        }
        (None, None) => return Err("give --public-key or --secret-key-out".into()),
    };
    let sealed = SealedToken::seal(&public, &binding, &token)?;
    println!("sealed_token = \"{sealed}\"");
    println!(
        "key_id       = \"{}\"   # the secret key with this id opens it",
        public.key_id()
    );
    println!(
        "bound_to     : connection {:?} at {}",
        binding.connection().as_str(),
        binding.origin()
    );
    println!("public_key   = \"{public}\"   # seals the next token; not secret");
    match secret_at {
        Some(path) => println!(
            "secret key   : written to {} (mode 0600). Move it into the service's secret store and point \
             jira.credentials at it with secret_key_env or secret_key_file; never keep it beside the configuration.",
            path.display()
        ),
        None => println!(
            "secret key   : the one with key id {}, in the key list the service already reads \
             (secret_key_env or secret_key_file; during a rotation it lists the old key and the new).",
            public.key_id()
        ),
    }
    Ok(())
}

/// Writes the secret key to a new file only the owner can read.
fn write_secret(path: &PathBuf, key: &SecretString) -> Result<(), Box<dyn std::error::Error>> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        format!(
            "cannot create {} (it must not exist yet): {e}",
            path.display()
        )
    })?;
    file.write_all(key.expose_secret().as_bytes())?;
    file.write_all(b"\n")?;
    Ok(())
}
