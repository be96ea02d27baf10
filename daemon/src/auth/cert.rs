//! The subject common name of a client certificate, which `client-cert-roles` maps to a role. rustls has
//! verified the certificate already; this only walks its DER far enough to find the subject (the sixth
//! field of the TBSCertificate, after an optional version) and the first CN in it. Nothing here trusts
//! the bytes: every length is checked, and anything unexpected yields `None`.

/// The DER tags this walk meets.
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const VERSION: u8 = 0xa0;

/// The OID of `commonName` (2.5.4.3), its DER contents.
const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// One DER element at the start of `input`: its tag, contents and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The first element of `input`, if it has tag `want`: its contents and what follows.
fn expect(input: &[u8], want: u8) -> Option<(&[u8], &[u8])> {
    let (tag, contents, rest) = element(input)?;
    (tag == want).then_some((contents, rest))
}

/// The subject's first common name in a DER certificate.
pub(crate) fn subject_cn(der: &[u8]) -> Option<String> {
    let (cert, _) = expect(der, SEQUENCE)?;
    let (tbs, _) = expect(cert, SEQUENCE)?;
    let mut rest = tbs;
    if rest.first() == Some(&VERSION) {
        rest = element(rest)?.2;
    }
    // serialNumber, signature, issuer, validity; then the subject.
    for _ in 0..4 {
        rest = element(rest)?.2;
    }
    let (mut names, _) = expect(rest, SEQUENCE)?;
    while !names.is_empty() {
        let (set, next) = expect(names, SET)?;
        names = next;
        let mut attrs = set;
        while !attrs.is_empty() {
            let (attr, next) = expect(attrs, SEQUENCE)?;
            attrs = next;
            let (oid, value) = expect(attr, OID)?;
            if oid == COMMON_NAME {
                let (tag, text, _) = element(value)?;
                // UTF8String, PrintableString, IA5String, T61String.
                if matches!(tag, 0x0c | 0x13 | 0x16 | 0x14) {
                    return String::from_utf8(text.to_vec()).ok();
                }
                return None;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    #[test]
    fn finds_the_subject_cn_not_the_issuers() {
        let (dir, _) = crate::tls::test_files("cert-cn");
        let pem = std::fs::read(dir.path().join("cert.pem")).unwrap();
        let der = CertificateDer::from_pem_slice(&pem).unwrap();
        assert_eq!(subject_cn(&der).as_deref(), Some("client"));
        let pem = std::fs::read(dir.path().join("ca.pem")).unwrap();
        let der = CertificateDer::from_pem_slice(&pem).unwrap();
        assert_eq!(subject_cn(&der).as_deref(), Some("Wharf development CA"));
    }

    #[test]
    fn garbage_is_none_not_a_panic() {
        for bytes in [
            &b""[..],
            &[0x30],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
            &[0x30, 0x02, 0x30, 0x00],
        ] {
            assert_eq!(subject_cn(bytes), None);
        }
    }
}
