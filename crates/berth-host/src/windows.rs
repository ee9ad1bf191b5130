//! Windows: the port ranges the system reserves (Hyper-V and WinNAT take blocks of ports at
//! boot, and a bind there fails with "access denied" as if the port were taken). Read from
//! `netsh interface ipv4 show excludedportrange protocol=tcp`; the argument vector and the parser
//! are plain code, compiled and tested on every platform.

/// The command that lists the reserved ranges of `protocol` ("tcp" or "udp").
pub fn excluded_ranges_command(protocol: &str) -> Vec<String> {
    ["netsh", "interface", "ipv4", "show", "excludedportrange"]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("protocol={protocol}")])
        .collect()
}

/// The ranges in netsh's table (`start end`, an optional `*` for administered ones); any other
/// line (titles, dashes, the footnote, a localised header) is skipped.
pub fn parse_excluded_ranges(text: &str) -> Vec<(u16, u16)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let a: u16 = f.next()?.parse().ok()?;
            let b: u16 = f.next()?.parse().ok()?;
            match f.next() {
                None | Some("*") => (a <= b).then_some((a, b)),
                Some(_) => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netsh_tables_read_as_ranges() {
        let text = "\r\nProtocol tcp Port Exclusion Ranges\r\n\r\nStart Port    End Port\r\n----------    --------\r\n      1080        1179\r\n      5357        5357\r\n     50000       50059     *\r\n\r\n* - Administered port exclusions.\r\n";
        assert_eq!(
            parse_excluded_ranges(text),
            [(1080, 1179), (5357, 5357), (50000, 50059)]
        );
        assert!(
            parse_excluded_ranges("Startport Endport\n2 1\n").is_empty(),
            "a reversed pair is no range"
        );
        assert_eq!(
            excluded_ranges_command("udp").last().map(String::as_str),
            Some("protocol=udp")
        );
    }
}
