//! `anliegen user …`: staff accounts from the command line — the way the first admin is
//! created. Passwords come from a prompt (asked twice) or, for scripts, the first line of
//! standard input; they never appear in arguments, the shell history or logs. Every change
//! is audited with the actor `cli`.

use std::io::BufRead;

use anyhow::{Context, bail};
use clap::Subcommand;

use anliegen::{
    config::Config,
    domain::{Catalogue, Role, UserName, check_grant},
    store::{NewUser, Store, UserChange},
    web::auth::password,
};

use super::{OutputFormat, open_store};

/// How the audit log names changes made here.
const ACTOR: &str = "cli";

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    Admin,
    Clerk,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::Clerk => Role::Clerk,
        }
    }
}

#[derive(Subcommand)]
pub enum UserAction {
    /// Create an account: `user add mueller --role clerk --department tiefbau`.
    #[command(
        after_help = "Example:\n  anliegen user add mueller --role clerk --department tiefbau"
    )]
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// A clerk's department (catalogue id); repeat for several.
        #[arg(long = "department")]
        departments: Vec<String>,
        /// Read the password from the first line of standard input instead of a prompt.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the accounts.
    #[command(after_help = "Example:\n  anliegen user list --format json")]
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
    },
    /// Refuse the account's logins and end its sessions at once.
    #[command(after_help = "Example:\n  anliegen user disable mueller")]
    Disable { name: String },
    /// Allow a disabled account to log in again.
    #[command(after_help = "Example:\n  anliegen user enable mueller")]
    Enable { name: String },
    /// Set a new password; the account's sessions end.
    #[command(
        after_help = "Example:\n  echo 'a long new passphrase' | anliegen user set-password mueller --password-stdin"
    )]
    SetPassword {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

pub async fn run(config: &Config, action: UserAction) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    match action {
        UserAction::Add {
            name,
            role,
            departments,
            password_stdin,
        } => {
            let name = UserName::parse(&name)?;
            let role = Role::from(role);
            let catalogue = Catalogue::load(&config.catalogue.path)?;
            check_grant(role, &departments, &catalogue)?;
            let hash = password::hash(&read_password(password_stdin)?)?;
            let user = store
                .create_user(
                    &NewUser {
                        name: &name,
                        role,
                        departments: &departments,
                        password_hash: &hash,
                    },
                    ACTOR,
                )
                .await?;
            println!("created {} '{}'", user.role.as_str(), user.name);
        }
        UserAction::List { format } => list(&store, format).await?,
        UserAction::Disable { name } => {
            change(
                &store,
                &name,
                UserChange {
                    disabled: Some(true),
                    ..Default::default()
                },
            )
            .await?;
            println!("disabled '{name}'; its sessions have ended");
        }
        UserAction::Enable { name } => {
            change(
                &store,
                &name,
                UserChange {
                    disabled: Some(false),
                    ..Default::default()
                },
            )
            .await?;
            println!("enabled '{name}'");
        }
        UserAction::SetPassword {
            name,
            password_stdin,
        } => {
            let hash = password::hash(&read_password(password_stdin)?)?;
            change(
                &store,
                &name,
                UserChange {
                    password_hash: Some(hash),
                    ..Default::default()
                },
            )
            .await?;
            println!("set a new password for '{name}'; its sessions have ended");
        }
    }
    Ok(())
}

async fn change(store: &Store, name: &str, change: UserChange) -> anyhow::Result<()> {
    let name = UserName::parse(name)?;
    store
        .change_user(&name, &change, ACTOR)
        .await?
        .with_context(|| format!("there is no user '{name}'"))?;
    Ok(())
}

async fn list(store: &Store, format: OutputFormat) -> anyhow::Result<()> {
    let users = store.users().await?;
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&users)?),
        OutputFormat::Table => {
            println!("{:<24} {:<6} {:<9} departments", "name", "role", "state");
            for u in users {
                let state = if u.disabled { "disabled" } else { "active" };
                let role = u.role.as_str();
                println!(
                    "{:<24} {role:<6} {state:<9} {}",
                    u.name,
                    u.departments.join(", ")
                );
            }
        }
    }
    Ok(())
}

/// The new password: the first line of standard input, or typed twice at a prompt.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    let first = rpassword::prompt_password("Password: ").context("reading the password")?;
    let again = rpassword::prompt_password("Again: ").context("reading the password")?;
    if first != again {
        bail!("the passwords differ");
    }
    Ok(first)
}
