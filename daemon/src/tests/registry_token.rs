//! The bearer-token flow against a REAL `docker-registry` in token mode, with a token server written
//! here (distribution's token spec: JWTs signed ES256 with the signing certificate in `x5c`, which the
//! registry checks against its `rootcertbundle`): `docker login` asks for a refresh token (identity
//! token), a wrong password is the token server's 401 in dockerd's words, pushes and pulls get tokens
//! scoped to their repository, the identity token alone is enough (`grant_type=refresh_token`), and a
//! token is fetched once per scope and credentials while it lives.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use base64::Engine as _;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wharf_client_core::registry_auth::RegistryAuth;
use wharf_client_core::{ErrorKind, Reference};

use super::registry_fixture::{can_run, Registry, PASSWORD, USER};
use crate::registry::{Access, Registries, RegistryConfig};

const SERVICE: &str = "wharf-test-registry";
const ISSUER: &str = "wharf-test-issuer";
const REFRESH: &str = "refresh-token-of-user";

/// A token server: signs what it grants with `key`, whose certificate the registry trusts.
struct TokenServer {
    addr: SocketAddr,
    /// Token requests answered (granted or refused).
    requests: Arc<AtomicU32>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An ECDSA signature from DER (`SEQUENCE { r, s }`) to JWS's fixed `r || s`.
fn jws_signature(der: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 2; // SEQUENCE, short length (P-256 signatures are < 128 bytes)
    for _ in 0..2 {
        assert_eq!(der[i], 0x02);
        let len = der[i + 1] as usize;
        let int = &der[i + 2..i + 2 + len];
        let int = &int[int.len().saturating_sub(32)..];
        out.extend(std::iter::repeat_n(0u8, 32 - int.len()));
        out.extend_from_slice(int);
        i += 2 + len;
    }
    out
}

/// A JWT granting `scopes` (`repository:<name>:<actions>`) to `subject`.
fn token(key: &rcgen::KeyPair, cert_der: &[u8], subject: &str, scopes: &[String]) -> String {
    let access: Vec<serde_json::Value> = scopes
        .iter()
        .filter_map(|s| {
            let mut parts = s.splitn(3, ':');
            let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
            Some(serde_json::json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
        })
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "x5c": [base64::engine::general_purpose::STANDARD.encode(cert_der)]});
    let claims = serde_json::json!({"iss": ISSUER, "sub": subject, "aud": SERVICE, "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("{now}-{}", scopes.len()), "access": access});
    let signing_input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let signer = rustls::crypto::ring::sign::any_ecdsa_type(&der)
        .unwrap()
        .choose_scheme(&[rustls::SignatureScheme::ECDSA_NISTP256_SHA256])
        .unwrap();
    let signature = jws_signature(&signer.sign(signing_input.as_bytes()).unwrap());
    format!("{signing_input}.{}", b64url(&signature))
}

fn query(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            let v = v.replace('+', " ");
            let mut out = Vec::new();
            let bytes = v.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'%' && i + 2 < bytes.len() + 1 {
                    if let Ok(b) = u8::from_str_radix(&v[i + 1..i + 3], 16) {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                }
                out.push(bytes[i]);
                i += 1;
            }
            (k.to_owned(), String::from_utf8(out).unwrap())
        })
        .collect()
}

impl TokenServer {
    async fn start(key: Arc<rcgen::KeyPair>, cert_der: Arc<Vec<u8>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicU32::new(0));
        let count = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let (key, cert_der, count) = (key.clone(), cert_der.clone(), count.clone());
                tokio::spawn(async move {
                    let mut raw = Vec::new();
                    let mut buf = [0u8; 8192];
                    let (head, body) = loop {
                        let Ok(n) = conn.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 || buf[0] == 0x16 {
                            return; // closed, or TLS: this server is plain HTTP
                        }
                        raw.extend_from_slice(&buf[..n]);
                        let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                            continue;
                        };
                        let head = String::from_utf8_lossy(&raw[..end]).to_string();
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if raw.len() >= end + 4 + length {
                            break (
                                head,
                                String::from_utf8_lossy(&raw[end + 4..end + 4 + length])
                                    .to_string(),
                            );
                        }
                    };
                    count.fetch_add(1, Ordering::SeqCst);
                    let line = head.lines().next().unwrap_or_default();
                    let target = line.split(' ').nth(1).unwrap_or_default();
                    let mut params = query(target.split_once('?').map_or("", |(_, q)| q));
                    let basic = head.lines().find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        let value = value.trim().strip_prefix("Basic ")?;
                        (name.eq_ignore_ascii_case("authorization")).then(|| {
                            String::from_utf8(
                                base64::engine::general_purpose::STANDARD
                                    .decode(value)
                                    .unwrap(),
                            )
                            .unwrap()
                        })
                    });
                    let user = if line.starts_with("POST") {
                        params = query(&body);
                        let p: HashMap<_, _> = params.iter().cloned().collect();
                        (p.get("grant_type").map(String::as_str) == Some("refresh_token")
                            && p.get("refresh_token").map(String::as_str) == Some(REFRESH))
                        .then(|| USER.to_owned())
                    } else {
                        basic
                            .filter(|b| b == &format!("{USER}:{PASSWORD}"))
                            .map(|_| USER.to_owned())
                    };
                    let scopes: Vec<String> = params
                        .iter()
                        .filter(|(k, _)| k == "scope")
                        .flat_map(|(_, v)| v.split(' ').map(str::to_owned).collect::<Vec<_>>())
                        .collect();
                    let offline = params
                        .iter()
                        .any(|(k, v)| k == "offline_token" && v == "true");
                    let (status, body) = match user {
                        Some(user) => {
                            let jwt = token(&key, &cert_der, &user, &scopes);
                            let refresh = if offline { REFRESH } else { "" };
                            ("200 OK", serde_json::json!({"token": jwt, "access_token": jwt, "expires_in": 300, "refresh_token": refresh}).to_string())
                        }
                        None => (
                            "401 Unauthorized",
                            r#"{"details":"incorrect username or password"}"#.to_owned(),
                        ),
                    };
                    let answer = format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                    let _ = conn.write_all(answer.as_bytes()).await;
                });
            }
        });
        Self {
            addr,
            requests,
            task,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_tokens_from_the_token_server_with_login_identity_tokens_and_a_cache() {
    let test = "bearer_tokens_from_the_token_server_with_login_identity_tokens_and_a_cache";
    if !can_run(test) {
        return;
    }
    let key = Arc::new(rcgen::KeyPair::generate().unwrap());
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "token signer");
    let cert = params.self_signed(&key).unwrap();
    let tokens = TokenServer::start(key.clone(), Arc::new(cert.der().to_vec())).await;
    let realm = format!("http://{}/token", tokens.addr);
    let reg = Registry::start_with("127.0.0.1".parse().unwrap(), |root| {
        std::fs::write(root.join("token.pem"), cert.pem()).unwrap();
        let extra = format!(
            "auth:\n  token:\n    realm: {realm}\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}/token.pem\n",
            root.display()
        );
        (extra, None)
    });
    let host = reg.host();
    let empty = tempfile::tempdir().unwrap();
    let r = Registries::new(RegistryConfig {
        certs_dir: empty.path().into(),
        ..RegistryConfig::default()
    });
    let with = |user: &str, password: &str| RegistryAuth {
        username: user.into(),
        password: password.into(),
        serveraddress: host.clone(),
        ..RegistryAuth::default()
    };

    // Login: the token server's refresh token comes back as the identity token.
    let outcome = r.login(&with(USER, PASSWORD)).await.unwrap();
    assert_eq!(outcome.identity_token.as_deref(), Some(REFRESH));
    let e = r.login(&with(USER, "wrong")).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert_eq!(
        e.message,
        format!("Get \"http://{host}/v2/\": unauthorized: incorrect username or password")
    );

    // A push with the password: a pull,push token for the repository, fetched once.
    let reference = Reference::parse(&format!("{host}/tok/app")).unwrap();
    let push = r
        .repository(&reference, &with(USER, PASSWORD), Access::Push)
        .unwrap();
    let config = bytes::Bytes::from_static(
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
    );
    let config_digest = {
        use sha2::Digest as _;
        format!("sha256:{:x}", sha2::Sha256::digest(&config))
    };
    let before = tokens.requests.load(Ordering::SeqCst);
    let open_config = config.clone();
    push.upload_blob(
        &config_digest,
        config.len() as i64,
        Arc::new(move || {
            let b = open_config.clone();
            Box::pin(async move {
                Ok(Box::pin(futures_util::stream::iter([Ok(b)])) as crate::registry::BlobStream)
            })
        }),
        &|_| {},
    )
    .await
    .unwrap();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","size":{},"digest":"{config_digest}"}},"layers":[]}}"#,
        config.len()
    );
    let digest = push
        .put_manifest(
            "v1",
            "application/vnd.docker.distribution.manifest.v2+json",
            manifest.clone().into(),
        )
        .await
        .unwrap();
    assert!(push.blob_exists(&config_digest).await.unwrap());
    assert_eq!(
        tokens.requests.load(Ordering::SeqCst) - before,
        1,
        "one token for the push scope, then the cache"
    );

    // A pull with the identity token alone (grant_type=refresh_token).
    let identity = RegistryAuth {
        identitytoken: REFRESH.into(),
        serveraddress: host.clone(),
        ..RegistryAuth::default()
    };
    let pull = r.repository(&reference, &identity, Access::Pull).unwrap();
    let got = pull.manifest("v1").await.unwrap();
    assert_eq!(got.digest, digest);
    assert_eq!(got.bytes, manifest.as_bytes());

    // Without credentials the token grants nothing: the registry's refusal, as dockerd words it.
    let anonymous = r
        .repository(&reference, &RegistryAuth::default(), Access::Pull)
        .unwrap();
    let e = anonymous.manifest("v1").await.unwrap_err();
    assert!(e.message.contains("unauthorized"), "{e}");
}
