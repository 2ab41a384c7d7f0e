//! `anliegen completions bash|zsh|fish`: the shell completion script on standard output,
//! generated from the command line's own definition (`clap_complete`), so it always knows
//! every subcommand and option of this version.

use clap::ValueEnum;

/// The shells a completion script is printed for.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// How to install each script (also in README.md, "Shell completions").
pub const HELP: &str = "Examples:
  anliegen completions bash > /etc/bash_completion.d/anliegen
  anliegen completions zsh > \"${fpath[1]}/_anliegen\"
  anliegen completions fish > ~/.config/fish/completions/anliegen.fish";

/// Writes the script for `shell` to standard output.
pub fn print(shell: Shell, command: &mut clap::Command) {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, command, "anliegen", &mut std::io::stdout());
}
