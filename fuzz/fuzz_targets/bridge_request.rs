#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| edge_idp_fuzz::targets::bridge_request(data));
