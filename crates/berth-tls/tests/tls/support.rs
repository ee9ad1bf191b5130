use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use berth_tls::{Ca, Leaf, Name};
use rustls::{ServerConfig, ServerConnection};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

pub const TIMEOUT: Duration = Duration::from_secs(5);
pub const YEAR: Duration = Duration::from_secs(365 * 24 * 60 * 60);

pub fn now() -> SystemTime {
    SystemTime::now()
}

pub fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temp dir for the test")
}

pub fn new_ca(dir: &Path) -> Ca {
    Ca::load_or_create(&dir.join("ca"), "tester@box", now()).expect("a new CA in a fresh folder")
}

pub fn names(list: &[&str]) -> Vec<Name> {
    list.iter()
        .map(|s| s.parse().expect("parsing a name never fails"))
        .collect()
}

pub fn issue(ca: &Ca, list: &[&str]) -> Leaf {
    ca.issue(&names(list), now())
        .expect("the CA signs local names")
}

/// A TLS server on a loopback port that serves one certificate, handshake after handshake,
/// until dropped.
pub struct Server {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(cert_pem: &str, key_pem: &str) -> Server {
        Server::start_on("127.0.0.1:0", cert_pem, key_pem).expect("a loopback IPv4 listener")
    }

    pub fn start_on(bind: &str, cert_pem: &str, key_pem: &str) -> std::io::Result<Server> {
        let chain = vec![CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .expect("the served certificate is PEM")];
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("the key is PEM");
        let config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("ring supports the default TLS versions")
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .expect("the key matches the certificate");
        let config = Arc::new(config);
        Server::spawn(bind, move |mut stream| {
            let Ok(mut conn) = ServerConnection::new(config.clone()) else {
                return;
            };
            while conn.is_handshaking() {
                if conn.complete_io(&mut stream).is_err() {
                    return;
                }
            }
            conn.send_close_notify();
            let _ = conn.complete_io(&mut stream);
        })
    }

    /// Something that listens but does not speak TLS, like a plain HTTP port.
    pub fn plain_http() -> Server {
        Server::spawn("127.0.0.1:0", |mut stream| {
            let mut buf = [0u8; 512];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        })
        .expect("a loopback IPv4 listener")
    }

    fn spawn(bind: &str, handle: impl Fn(TcpStream) + Send + 'static) -> std::io::Result<Server> {
        let listener = TcpListener::bind(bind)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(TIMEOUT));
                let _ = stream.set_write_timeout(Some(TIMEOUT));
                handle(stream);
            }
        });
        Ok(Server {
            addr,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // accept() only returns on a connection, so one is made to let the thread see `stop`.
        let _ = TcpStream::connect_timeout(&self.addr, TIMEOUT);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The real openssl binary, when this machine has one; the checks that use it are skipped
/// otherwise (the rustls checks always run).
pub fn openssl() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("openssl"))
        .find(|candidate| candidate.is_file())
}
