#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| edge_idp_fuzz::targets::forms_ticket(data));
