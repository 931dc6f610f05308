//! Placeholder until the service-name module lands (replaced wholesale).
pub fn next_instance_name(current: &[u8]) -> Vec<u8> {
    let mut v = current.to_vec();
    v.extend_from_slice(b" (2)");
    v
}
pub fn next_host_label(current: &[u8]) -> Vec<u8> {
    let mut v = current.to_vec();
    v.extend_from_slice(b"-2");
    v
}
