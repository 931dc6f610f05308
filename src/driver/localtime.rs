//! Local wall-clock time from the C library, which knows the time zone
//! (used by the `dns-sd` tool's time stamps).

/// `(date as "Mon 23 Nov 2026", hour, minute, second)` for a Unix time.
pub fn local_date_and_time(unix_seconds: i64) -> (String, u32, u32, u32) {
    let time: libc::time_t = unix_seconds as libc::time_t;
    // SAFETY: an all-zero `tm` is a valid value; localtime_r writes only into
    // it and reads only `time`, both alive for the call.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&time, &mut tm);
        tm
    };
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let date = format!(
        "{} {:02} {} {}",
        DAYS[tm.tm_wday.rem_euclid(7) as usize],
        tm.tm_mday,
        MONTHS[tm.tm_mon.rem_euclid(12) as usize],
        tm.tm_year + 1900
    );
    (date, tm.tm_hour as u32, tm.tm_min as u32, tm.tm_sec as u32)
}
