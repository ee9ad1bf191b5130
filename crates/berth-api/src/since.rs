//! `--since` as people type it.

/// `--since`: Unix seconds, an RFC 3339 time, or a duration back from now (`30s`, `10m`, `2h`).
pub fn parse_since(s: &str, now: i64) -> Option<i64> {
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    if let Some(t) = berth_engine::status::parse_rfc3339(s) {
        return Some(t);
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = num.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return None,
    };
    Some(now - secs)
}

#[cfg(test)]
mod tests {
    use super::parse_since;

    #[test]
    fn since_forms() {
        assert_eq!(parse_since("1700000000", 0), Some(1_700_000_000));
        assert_eq!(parse_since("10m", 1000), Some(400));
        assert_eq!(parse_since("2h", 10_000), Some(2800));
        assert_eq!(parse_since("1970-01-01T00:01:00Z", 0), Some(60));
        assert_eq!(parse_since("soon", 0), None);
        for odd in ["1é", "é", "10mé", "2026-11-23T10:00:0é", "٣m"] {
            assert_eq!(parse_since(odd, 0), None, "{odd:?} is refused, not a panic");
        }
    }
}
