//! Placeholder until the TXT module lands (replaced wholesale).
pub fn strings(rdata: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = rdata;
    std::iter::from_fn(move || {
        let (&len, tail) = rest.split_first()?;
        if tail.len() < len as usize {
            return None;
        }
        let (s, r) = tail.split_at(len as usize);
        rest = r;
        Some(s)
    })
}
