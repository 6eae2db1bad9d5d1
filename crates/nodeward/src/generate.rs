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
    /// nodeward.1 and one nodeward-COMMAND.1 per subcommand.
    Man,
    /// nodeward.bash, _nodeward (zsh) and nodeward.fish.
    Completions,
}

/// Writes the files into `args.dir` and lists them on stdout.
pub fn run(args: GenerateArgs, mut cmd: clap::Command) -> Result<u8, String> {
    std::fs::create_dir_all(&args.dir).map_err(|e| format!("{}: {e}", args.dir.display()))?;
    cmd.build();
    let written = match args.what {
        What::Man => man_pages(&cmd, &args.dir)?,
        What::Completions => completions(&mut cmd, &args.dir)?,
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

/// nodeward(1) and nodeward-COMMAND(1) for every visible subcommand.
fn man_pages(cmd: &clap::Command, dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut written = vec![write_page(cmd.clone(), dir, "nodeward")?];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        let name = format!("nodeward-{}", sub.get_name());
        let page = sub
            .clone()
            .name(name.clone())
            .bin_name(format!("nodeward {}", sub.get_name()));
        written.push(write_page(page, dir, &name)?);
    }
    Ok(written)
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
