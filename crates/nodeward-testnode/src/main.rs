//! `nodeward-testnode`: a scriptable fake IOTA IRI / Ethereum-style JSON-RPC node.
//! End-to-end tests of the gateway's node pools start it as a real process so they
//! can kill -9 it under load, restart it on the same port, and make it lag, lie,
//! go slow or fail through `POST /_control`. It binds loopback addresses only.

mod iri;
mod jsonrpc;
mod service;
mod state;
mod tls;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::service::Node;
use crate::state::State;

/// A fake blockchain node for nodeward's end-to-end tests.
#[derive(Parser, Debug)]
#[command(name = "nodeward-testnode", version, about)]
struct Cli {
    /// Address to serve the node API on (loopback only; port 0 picks one).
    #[arg(long, value_name = "IP:PORT")]
    listen: SocketAddr,
    /// Node name: in answers and in the `x-testnode` header.
    #[arg(long)]
    name: String,
    /// Also serve only /_control and /_stats, over plain HTTP, on this address.
    #[arg(long, value_name = "IP:PORT")]
    control_listen: Option<SocketAddr>,
    /// Serve HTTPS with this PEM certificate chain.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key for --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Require a client certificate signed by this PEM CA.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    client_ca: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nodeward-testnode: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    for (flag, addr) in [
        ("--listen", Some(cli.listen)),
        ("--control-listen", cli.control_listen),
    ] {
        if let Some(a) = addr {
            if !a.ip().is_loopback() {
                return Err(format!(
                    "{flag} {a}: the test node binds loopback addresses only"
                ));
            }
        }
    }
    let st = State::new(&cli.name);
    st.validate().map_err(|e| format!("--name: {e}"))?;
    let acceptor = match (&cli.tls_cert, &cli.tls_key) {
        (Some(cert), Some(key)) => Some(TlsAcceptor::from(tls::server_config(
            cert,
            key,
            cli.client_ca.as_deref(),
        )?)),
        _ => None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(serve(cli, acceptor, st))
}

async fn bind(addr: SocketAddr, flag: &str) -> Result<(TcpListener, SocketAddr), String> {
    let l = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("{flag} {addr}: cannot listen: {e}"))?;
    let local = l
        .local_addr()
        .map_err(|e| format!("{flag} {addr}: no local address: {e}"))?;
    Ok((l, local))
}

async fn serve(cli: Cli, acceptor: Option<TlsAcceptor>, st: State) -> Result<(), String> {
    let (main, main_addr) = bind(cli.listen, "--listen").await?;
    let control = match cli.control_listen {
        Some(a) => Some(bind(a, "--control-listen").await?),
        None => None,
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {main_addr}");
        if let Some((_, a)) = &control {
            let _ = writeln!(out, "control on {a}");
        }
        let _ = out.flush();
    }
    let node = Arc::new(Node::new(st));
    if let Some((l, _)) = control {
        tokio::spawn(accept_loop(l, None, Arc::clone(&node), true));
    }
    accept_loop(main, acceptor, node, false).await;
    Ok(())
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    node: Arc<Node>,
    control_only: bool,
) {
    loop {
        let tcp = match listener.accept().await {
            Ok((s, _)) => s,
            Err(_) => {
                // Out of descriptors or an aborted handshake: back off, go on.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if !control_only {
            node.stats.connection();
        }
        let _ = tcp.set_nodelay(true);
        let node = Arc::clone(&node);
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_conn(TokioIo::new(tcp), node, control_only).await,
                Some(acc) => {
                    let hs = tokio::time::timeout(Duration::from_secs(10), acc.accept(tcp)).await;
                    if let Ok(Ok(stream)) = hs {
                        serve_conn(TokioIo::new(stream), node, control_only).await;
                    }
                }
            }
        });
    }
}

async fn serve_conn<I>(io: I, node: Arc<Node>, control_only: bool)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let svc = service_fn(move |req| service::handle(Arc::clone(&node), req, control_only));
    let _ = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, svc)
        .await;
}
