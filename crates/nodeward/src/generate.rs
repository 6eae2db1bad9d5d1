//! `nodeward generate man|completions DIR` (hidden): man pages and shell
//! completions made from the clap definitions, so they never drift from the
//! real command line. `scripts/package.sh` runs it to fill the Debian package.

use std::path::{Path, PathBuf};

/// Arguments of the hidden `nodeward generate`.
#[derive(clap::Args)]
pub struct GenerateArgs {
    /// What to write.
    #[arg(value_enum)]
    what: What,
    /// Directory to write into (created if missing).
    dir: PathBuf,
}

/// The kinds of generated files.
#[derive(Clone, Copy, clap::ValueEnum)]
enum What {
    /// nodeward.1 and one nodeward-COMMAND[-SUB].1 per subcommand.
    Man,
    /// nodeward (bash), _nodeward (zsh) and nodeward.fish.
    Completions,
}

/// Writes the files into `args.dir` and lists them on stdout.
pub fn run(args: GenerateArgs, mut cmd: clap::Command) -> Result<u8, String> {
    std::fs::create_dir_all(&args.dir).map_err(|e| format!("{}: {e}", args.dir.display()))?;
    let written = match args.what {
        What::Man => {
            let mut cmd = without_help(cmd);
            cmd.build();
            man_pages(&cmd, &args.dir)?
        }
        What::Completions => {
            cmd.build();
            completions(&mut cmd, &args.dir)?
        }
    };
    for p in written {
        println!("{}", p.display());
    }
    Ok(0)
}

/// Renders one page with clap_mangen into `dir/NAME.1`.
fn write_page(cmd: clap::Command, dir: &Path, name: &str) -> Result<PathBuf, String> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut buf)
        .map_err(|e| format!("{name}.1: {e}"))?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, buf).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Drops the `help` subcommands everywhere: `nodeward help` has no page of its
/// own, so the pages must not point at one.
fn without_help(cmd: clap::Command) -> clap::Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    names
        .into_iter()
        .fold(cmd.disable_help_subcommand(true), |cmd, name| {
            cmd.mut_subcommand(name, without_help)
        })
}

/// nodeward(1), then nodeward-COMMAND(1), nodeward-COMMAND-SUB(1), ... for every
/// visible subcommand at every depth, the names the SUBCOMMANDS sections use.
fn man_pages(cmd: &clap::Command, dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut written = vec![write_page(cmd.clone(), dir, "nodeward")?];
    sub_pages(cmd, "nodeward", "nodeward", dir, &mut written)?;
    Ok(written)
}

/// The pages of `cmd`'s visible subcommands, recursively.
fn sub_pages(
    cmd: &clap::Command,
    page_prefix: &str,
    bin_prefix: &str,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<(), String> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("{page_prefix}-{}", sub.get_name());
        let bin = format!("{bin_prefix} {}", sub.get_name());
        let page = sub.clone().name(name.clone()).bin_name(bin.clone());
        written.push(write_page(page, dir, &name)?);
        sub_pages(sub, &name, &bin, dir, written)?;
    }
    Ok(())
}

/// bash, zsh and fish completion scripts, named as Debian installs them.
fn completions(cmd: &mut clap::Command, dir: &Path) -> Result<Vec<PathBuf>, String> {
    use clap_complete::Shell;
    let mut written = Vec::new();
    for (shell, file) in [
        (Shell::Bash, "nodeward"),
        (Shell::Zsh, "_nodeward"),
        (Shell::Fish, "nodeward.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, cmd, "nodeward", &mut buf);
        let path = dir.join(file);
        std::fs::write(&path, buf).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}
