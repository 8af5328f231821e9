//! Fetching a URL a caller names (`/h/hash?url=`, `/m/lookup?url=`,
//! content by `url`): off unless `--allow-url-fetch`, and then only http
//! and https to public addresses. Every hop's host is resolved here and
//! every address checked against loopback, private, link-local, shared,
//! multicast, documentation and cloud-metadata ranges (unless
//! `--fetch-allow` names it, for tests); the connection is pinned to the
//! address checked (no second lookup a DNS rebinding could change);
//! redirects are followed by hand, each checked the same way, at most five;
//! the body is bounded by `--max-upload` and the whole fetch by time.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use axum::http::StatusCode;

use crate::error::{ApiError, ApiResult};

/// Most redirects followed.
const MAX_REDIRECTS: usize = 5;

/// How URLs may be fetched.
#[derive(Clone, Debug, Default)]
pub struct FetchPolicy {
    /// Whether URLs are fetched at all.
    pub enabled: bool,
    /// Networks allowed although they are not public (`127.0.0.0/8`…).
    pub allow: Vec<(IpAddr, u8)>,
    /// Largest body.
    pub max_bytes: u64,
    /// Longest time for the whole fetch.
    pub timeout: Duration,
}

/// A network in CIDR notation (`10.0.0.0/8`, `::1/128`, or one address).
pub fn parse_net(s: &str) -> Result<(IpAddr, u8), String> {
    let (addr, bits) = match s.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let ip: IpAddr = addr.trim().parse().map_err(|_| format!("{s:?} is not an IP address or network"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = match bits {
        Some(b) => b
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|b| *b <= max)
            .ok_or_else(|| format!("{s:?}: bad prefix length"))?,
        None => max,
    };
    Ok((ip, bits))
}

fn in_net(ip: IpAddr, (net, bits): (IpAddr, u8)) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - u32::from(bits)) };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - u32::from(bits)) };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// Why an address may not be fetched from, if it may not: every range that
/// is not the public internet.
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let seg = v6.segments();
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if seg[0] & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if seg[0] & 0xfe00 == 0xfc00 {
                Some("private (unique local)")
            } else if seg[0] == 0x2001 && seg[1] == 0x0db8 {
                Some("documentation")
            } else if seg[0] == 0x0064 && seg[1] == 0xff9b {
                // NAT64 of an IPv4 address: judged by that address.
                forbidden_v4(Ipv4Addr::new(
                    (seg[6] >> 8) as u8,
                    seg[6] as u8,
                    (seg[7] >> 8) as u8,
                    seg[7] as u8,
                ))
            } else if seg[0] == 0x2002 {
                // 6to4 of an IPv4 address.
                forbidden_v4(Ipv4Addr::new(
                    (seg[1] >> 8) as u8,
                    seg[1] as u8,
                    (seg[2] >> 8) as u8,
                    seg[2] as u8,
                ))
            } else if v6 == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254) {
                Some("cloud metadata")
            } else {
                None
            }
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() || o[0] == 0 {
        Some("unspecified")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some(if o == [169, 254, 169, 254] { "cloud metadata" } else { "link-local" })
    } else if o[0] == 100 && (64..128).contains(&o[1]) {
        Some("shared (carrier-grade NAT)")
    } else if ip.is_multicast() || o[0] >= 224 {
        Some(if o[0] >= 240 { "reserved" } else { "multicast" })
    } else if ip.is_broadcast() {
        Some("broadcast")
    } else if ip.is_documentation()
        || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)
    {
        Some("reserved")
    } else {
        None
    }
}

fn refuse(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(format!("Invalid or unsafe URL provided: {}", message.into()))
}

impl FetchPolicy {
    fn check(&self, ip: IpAddr) -> Result<(), &'static str> {
        if self.allow.iter().any(|n| in_net(ip, *n)) {
            return Ok(());
        }
        forbidden(ip).map_or(Ok(()), Err)
    }

    /// Resolves `url`'s host and checks every address; the one to connect to.
    async fn resolve(&self, url: &reqwest::Url) -> ApiResult<SocketAddr> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(refuse(format!("only http and https are fetched, not {:?}", url.scheme())));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("a URL with credentials is not fetched"));
        }
        let host = url.host_str().ok_or_else(|| refuse("the URL has no host"))?;
        let port = url.port_or_known_default().ok_or_else(|| refuse("the URL has no port"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::time::timeout(Duration::from_secs(10), tokio::net::lookup_host((host, port)))
                .await
                .map_err(|_| refuse(format!("resolving {host} took too long")))?
                .map_err(|e| refuse(format!("cannot resolve {host}: {e}")))?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(refuse(format!("{host} has no address")));
        }
        // Every address must be allowed: a name with one public and one
        // private address could be answered either way.
        for a in &addrs {
            if let Err(why) = self.check(a.ip()) {
                return Err(refuse(format!("{host} resolves to {} ({why})", a.ip())));
            }
        }
        Ok(addrs[0])
    }

    /// Fetches `url` into a temporary file under `dir`; its
    /// `Content-Type` too.
    pub async fn fetch(&self, url: &str, dir: &Path) -> ApiResult<(tempfile::TempPath, Option<String>)> {
        if !self.enabled {
            return Err(refuse("this server does not fetch URLs (upload the file instead)"));
        }
        let started = tokio::time::Instant::now();
        let mut url = reqwest::Url::parse(url).map_err(|e| refuse(format!("{e}")))?;
        for _ in 0..=MAX_REDIRECTS {
            let addr = self.resolve(&url).await?;
            let host =
                url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
            let left = self.timeout.saturating_sub(started.elapsed());
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .resolve(&host, addr)
                .timeout(left)
                .build()
                .map_err(ApiError::internal)?;
            let mut resp = client
                .get(url.clone())
                .send()
                .await
                .map_err(|e| ApiError::bad_request(format!("Failed to fetch URL: {e}")))?;
            if resp.status().is_redirection() {
                let location =
                    resp.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok()).ok_or_else(
                        || ApiError::bad_request("Failed to fetch URL: a redirect without a location"),
                    )?;
                url = url.join(location).map_err(|e| refuse(format!("redirect to {location:?}: {e}")))?;
                continue;
            }
            if !resp.status().is_success() {
                return Err(ApiError::bad_request(format!(
                    "Failed to fetch URL: {} for url ({url})",
                    resp.status()
                )));
            }
            if resp.content_length().is_some_and(|n| n > self.max_bytes) {
                return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Content too large"));
            }
            let content_type = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let tmp = tempfile::Builder::new()
                .prefix("marsad-fetch-")
                .tempfile_in(dir)
                .map_err(ApiError::internal)?;
            let (mut out, path) = tmp.into_parts();
            let mut written = 0u64;
            while let Some(chunk) =
                resp.chunk().await.map_err(|e| ApiError::bad_request(format!("Failed to fetch URL: {e}")))?
            {
                written += chunk.len() as u64;
                if written > self.max_bytes {
                    return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Content too large"));
                }
                out.write_all(&chunk).map_err(ApiError::internal)?;
            }
            out.flush().map_err(ApiError::internal)?;
            return Ok((path, content_type));
        }
        Err(ApiError::bad_request(format!("Failed to fetch URL: more than {MAX_REDIRECTS} redirects")))
    }
}

/// HMA's content type from a fetched `Content-Type` (or the caller's
/// `content_type`).
pub fn content_type_of(header: Option<&str>, hint: Option<&str>) -> ApiResult<String> {
    if let Some(h) = hint.filter(|h| !h.is_empty()) {
        return Ok(h.to_owned());
    }
    let h = header.unwrap_or("");
    if h.to_ascii_lowercase().starts_with("image") {
        Ok("photo".to_owned())
    } else if h.to_ascii_lowercase().starts_with("video") {
        Ok("video".to_owned())
    } else {
        Err(ApiError::bad_request(format!(
            "unsupported url ContentType: '{h}', if you know the expected type, provide it with the content_type query param"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_non_public_range_is_refused() {
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "198.18.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "fd00:ec2::254",
        ] {
            assert!(forbidden(ip.parse().unwrap()).is_some(), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert_eq!(forbidden(ip.parse().unwrap()), None, "{ip}");
        }
    }

    #[test]
    fn allowed_networks_are_matched_by_prefix() {
        let net = parse_net("127.0.0.0/8").unwrap();
        assert!(in_net("127.1.2.3".parse().unwrap(), net));
        assert!(!in_net("128.0.0.1".parse().unwrap(), net));
        assert!(in_net("::1".parse().unwrap(), parse_net("::1").unwrap()));
        assert!(parse_net("10.0.0.0/33").is_err());
        assert!(parse_net("nope").is_err());
    }
}
