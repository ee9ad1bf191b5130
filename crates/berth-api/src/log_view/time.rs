//! Times as the rows show them (a clock in the viewer's offset) and as the text export writes
//! them (RFC 3339 in UTC, like `docker logs -t`).

/// `HH:MM:SS.mmm` in the given offset.
pub(super) fn clock_time(ts_nano: i64, offset_min: i32) -> String {
    let ms = ts_nano / 1_000_000 + offset_min as i64 * 60_000;
    let day_ms = ms.rem_euclid(86_400_000);
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        day_ms / 3_600_000,
        day_ms / 60_000 % 60,
        day_ms / 1000 % 60,
        day_ms % 1000
    )
}

/// RFC 3339 in UTC with nanoseconds, as `docker logs -t` prints it.
pub(super) fn rfc3339(ts_nano: i64) -> String {
    let secs = ts_nano.div_euclid(1_000_000_000);
    let nanos = ts_nano.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}
