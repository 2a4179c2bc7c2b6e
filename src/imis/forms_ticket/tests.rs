#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use aes::cipher::BlockEncryptMut;

// Published interop vectors: machine keys and cookies from the test suite of the
// AspNetCore.LegacyAuthCookieCompat project, whose Framework45 cookie was issued by ASP.NET's own
// FormsAuthentication on .NET Framework. We cannot run ASP.NET here, so these are the check that
// our reading matches Microsoft's, not only our own encoder.
const NET45_VALIDATION_KEY: &str = "58703273357638792F423F4528472B4B6250655368566D597133743677397A24432646294A404D635166546A576E5A7234753778214125442A472D4B61506452";
const NET45_DECRYPTION_KEY: &str =
    "66556A586E3272357538782F413F442A472D4B6150645367566B597033733676";
const NET45_COOKIE: &str = "4155EDCD81DB4687336A024F636B54ADB352E25E6D8D89E393C407A041DE0F8DFCA382DF1B1135B89AE0C580CCCFEBBB497C609ECA0B1BDDB5875E166A5C230A547FDBF7B4BDCA6A67A55E4AFA8F24B2399EAA55B4C31C00E36239E897B78FA234BF3DAFCCDB85CCA205A21569A7F4A23A7D0A2AD7780C3B55720574E72461675B30453CB214576453BF9D27DD6F2DA78BF74183728B5196D6772BA6031366CBC38A289B171251E7AEC8132B00F39E80D37E4331D97EDFE825840954C7D1FC274C68617C1D1A4B5973E4B977905E38EDE616EEC7AE22C0C2393BEDF95126063A";

const SP2_VALIDATION_KEY: &str = "2863C5606B3711FC0857F47664552890E2B060A1C11A0B2221660B3137DB8538164F4813BC5E4AA319F8FE3EB86F3751ADE6A96241664988CBB1C99EAE09E7F4";
const SP2_DECRYPTION_KEY: &str = "3C4D2EF2FD5FA7ADA0AE5E7BCC312A31E901AE4821218893";
const SP2_COOKIE: &str = "71AE29F3588ACE8E0097BA62E71B3E3ADC92FBEAFC2CBBD3FC3AC200EB6F78BC85CE111125F1ED0D7F4A54805F06F572A1D5FAD25A4DE014B54D199E6FBAF10A8674107BD78A310E589A49F2ADF6019785AF065C6677CF769D7CB17419D9BCAC35820862DEBC5894B4012B1406DD5B94248FBF87DA197BBE983A2E0A3068B6FDF83B076E387262534F946E1D861EF008EF7F7B630D7851525F1E883C9D973692";

fn net45() -> MachineKey {
    MachineKey::from_hex(
        FormsCompatibility::Framework45,
        FormsValidation::HmacSha512,
        NET45_VALIDATION_KEY,
        NET45_DECRYPTION_KEY,
    )
    .unwrap()
}

fn sp2() -> MachineKey {
    MachineKey::from_hex(
        FormsCompatibility::Framework20Sp2,
        FormsValidation::HmacSha256,
        SP2_VALIDATION_KEY,
        SP2_DECRYPTION_KEY,
    )
    .unwrap()
}

#[test]
fn a_ticket_issued_by_aspnet_45_opens() {
    let t = net45().open(NET45_COOKIE).unwrap();
    assert_eq!(t.name, "test@example.com");
    assert_eq!(t.user_data, "84e456a0-dbae-4ef9-9828-1f80def0d749");
    assert_eq!(t.cookie_path, "/");
    assert!(!t.persistent);
    assert!(t.expires > t.issued, "{t:?}");
    // Issued in the years the vector was published, not at a misread epoch.
    assert!((1_400_000_000..1_800_000_000).contains(&t.issued), "{t:?}");
}

#[test]
fn the_published_framework20sp2_ticket_opens() {
    let t = sp2().open(SP2_COOKIE).unwrap();
    assert_eq!(t.name, "foo@bar.com");
    assert_eq!(t.user_data, "foo@bar.com");
    assert_eq!(t.cookie_path, "/");
    // Lower-case hex is the same cookie.
    assert_eq!(sp2().open(&SP2_COOKIE.to_lowercase()).unwrap(), t);
}

#[test]
fn the_wrong_mode_or_algorithm_or_key_opens_nothing() {
    let as_sp2 = MachineKey::from_hex(
        FormsCompatibility::Framework20Sp2,
        FormsValidation::HmacSha512,
        NET45_VALIDATION_KEY,
        NET45_DECRYPTION_KEY,
    )
    .unwrap();
    assert!(as_sp2.open(NET45_COOKIE).is_err());
    let as_sha256 = MachineKey::from_hex(
        FormsCompatibility::Framework45,
        FormsValidation::HmacSha256,
        NET45_VALIDATION_KEY,
        NET45_DECRYPTION_KEY,
    )
    .unwrap();
    assert_eq!(as_sha256.open(NET45_COOKIE), Err(TicketError::BadSignature));
    assert_eq!(sp2().open(NET45_COOKIE), Err(TicketError::BadSignature));
    assert_eq!(net45().open(SP2_COOKIE), Err(TicketError::BadSignature));
    // The right validation key with another decryption key: the MAC verifies, decryption fails.
    let other_aes = MachineKey::from_hex(
        FormsCompatibility::Framework45,
        FormsValidation::HmacSha512,
        NET45_VALIDATION_KEY,
        &"11".repeat(32),
    )
    .unwrap();
    assert!(matches!(
        other_aes.open(NET45_COOKIE),
        Err(TicketError::BadDecryption | TicketError::Malformed)
    ));
}

#[test]
fn every_changed_byte_is_refused() {
    let key = net45();
    let hex = NET45_COOKIE.as_bytes();
    for i in (0..hex.len()).step_by(7) {
        let mut changed = hex.to_vec();
        changed[i] = if changed[i] == b'0' { b'1' } else { b'0' };
        let text = String::from_utf8(changed).unwrap();
        assert!(key.open(&text).is_err(), "byte {i} changed but opened");
    }
    // Cut short, extended, emptied, non-hex, odd length, oversized.
    for bad in [
        &NET45_COOKIE[..NET45_COOKIE.len() - 2],
        &format!("{NET45_COOKIE}00"),
        "",
        "zz",
        &NET45_COOKIE[1..],
        &"A".repeat(MAX_COOKIE_CHARS + 2),
    ] {
        assert!(key.open(bad).is_err(), "{bad:.20}");
    }
}

#[test]
fn key_hex_is_either_case_two_digits_per_byte() {
    let aes = [0xab_u8; 16];
    for text in [
        "ab".repeat(16),
        "AB".repeat(16),
        "aB".repeat(16),
        format!(" {} \n", "Ab".repeat(16)),
    ] {
        assert_eq!(
            decryption_key_bytes(&text).as_deref(),
            Some(&aes[..]),
            "{text}"
        );
    }
    // A sign, a non-ASCII digit, a separator or an odd digit count is no hex byte.
    for text in [
        format!("+1{}", "ab".repeat(15)),
        format!("\u{661}\u{661}{}", "ab".repeat(15)),
        format!("a b{}", "ab".repeat(15)),
        format!("0x{}", "ab".repeat(15)),
        format!("a{}", "ab".repeat(16)),
    ] {
        assert_eq!(decryption_key_bytes(&text), None, "{text}");
    }
    assert_eq!(validation_key_bytes(&"0F".repeat(16)), Some(vec![0x0f; 16]));
}

#[test]
fn keys_of_unusable_shape_are_refused() {
    for (v, d) in [
        ("", NET45_DECRYPTION_KEY),
        ("ABCD", NET45_DECRYPTION_KEY),
        (NET45_VALIDATION_KEY, "00112233"),
        (NET45_VALIDATION_KEY, &"0".repeat(63)),
        (NET45_VALIDATION_KEY, &"x".repeat(64)),
    ] {
        let got = MachineKey::from_hex(
            FormsCompatibility::Framework45,
            FormsValidation::HmacSha512,
            v,
            d,
        );
        assert!(matches!(got, Err(TicketError::BadKey)), "{v:.8} {d:.8}");
    }
    // The key never shows in debug output.
    let shown = format!("{:?}", net45());
    assert!(
        !shown.contains("58") && !shown.to_lowercase().contains("key: ["),
        "{shown}"
    );
}

#[test]
fn expiry_issue_time_and_max_age_are_checked() {
    let t = Ticket {
        name: "m".into(),
        issued: 1_000,
        expires: 2_000,
        persistent: false,
        user_data: String::new(),
        cookie_path: "/".into(),
    };
    assert!(t.is_current(1_500, 300, None));
    assert!(!t.is_current(2_000, 300, None), "expired at its expiry");
    assert!(
        !t.is_current(600, 300, None),
        "issued too far in the future"
    );
    assert!(t.is_current(800, 300, None), "within the clock skew");
    assert!(t.is_current(1_500, 300, Some(600)));
    assert!(
        !t.is_current(1_700, 300, Some(600)),
        "older than the max age"
    );
}

/// Our own encoder, for cases the published vectors do not cover (every algorithm, key size and
/// hostile payload). It follows the same layout the vectors proved.
pub(crate) fn issue(key: &MachineKey, serialized: &[u8], random: &[u8]) -> String {
    fn cbc_encrypt(key: &[u8], iv: &[u8], data: &[u8]) -> Vec<u8> {
        use aes::cipher::block_padding::Pkcs7;
        match key.len() {
            16 => cbc::Encryptor::<aes::Aes128>::new_from_slices(key, iv)
                .unwrap()
                .encrypt_padded_vec_mut::<Pkcs7>(data),
            24 => cbc::Encryptor::<aes::Aes192>::new_from_slices(key, iv)
                .unwrap()
                .encrypt_padded_vec_mut::<Pkcs7>(data),
            _ => cbc::Encryptor::<aes::Aes256>::new_from_slices(key, iv)
                .unwrap()
                .encrypt_padded_vec_mut::<Pkcs7>(data),
        }
    }
    let body = match key.compatibility {
        FormsCompatibility::Framework45 => {
            let iv = &random[..16];
            let mut body = iv.to_vec();
            body.extend(cbc_encrypt(&key.decryption_key, iv, serialized));
            body
        }
        FormsCompatibility::Framework20Sp2 => {
            let mut plain = random[..key.decryption_key.len()].to_vec();
            plain.extend(serialized);
            plain.extend(key.validation.mac(&key.validation_key, &[serialized]));
            cbc_encrypt(&key.decryption_key, &[0; 16], &plain)
        }
    };
    let mut blob = body.clone();
    blob.extend(key.validation.mac(&key.validation_key, &[&body]));
    hex::encode_upper(blob)
}

/// ASP.NET's ticket serialization of `name` valid from `issued` to `expires` (Unix seconds).
pub(crate) fn serialize(name: &str, issued: i64, expires: i64) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        let units: Vec<u16> = s.encode_utf16().collect();
        let mut n = units.len();
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            out.push(if n > 0 { b | 0x80 } else { b });
            if n == 0 {
                break;
            }
        }
        for u in units {
            out.extend(u.to_le_bytes());
        }
    }
    let ticks = |s: i64| (s * TICKS_PER_SEC + UNIX_EPOCH_TICKS).to_le_bytes();
    let mut out = vec![0x01, 2];
    out.extend(ticks(issued));
    out.push(0xfe);
    out.extend(ticks(expires));
    out.push(0);
    string(&mut out, name);
    string(&mut out, "");
    string(&mut out, "/");
    out.push(0xff);
    out
}

#[test]
fn every_algorithm_and_key_size_round_trips_and_hostile_payloads_are_refused() {
    let random: Vec<u8> = (0u8..64).collect();
    for compatibility in [
        FormsCompatibility::Framework45,
        FormsCompatibility::Framework20Sp2,
    ] {
        for validation in [
            FormsValidation::HmacSha1,
            FormsValidation::HmacSha256,
            FormsValidation::HmacSha384,
            FormsValidation::HmacSha512,
        ] {
            for aes_hex in [32, 48, 64] {
                let key = MachineKey::from_hex(
                    compatibility,
                    validation,
                    &"5A".repeat(64),
                    &"C3".repeat(aes_hex / 2),
                )
                .unwrap();
                let name = "Zoë \u{1F600} O'Brien";
                let cookie = issue(&key, &serialize(name, 1_000, 2_000), &random);
                let t = key.open(&cookie).unwrap();
                assert_eq!((t.name.as_str(), t.issued, t.expires), (name, 1_000, 2_000));
            }
        }
    }
    let key = net45();
    let good = serialize("m", 1, 2);
    let mut hostile: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x02],
        good[..good.len() - 1].to_vec(),
        [good.as_slice(), &[0]].concat(),
        serialize("", 1, 2),
    ];
    // An unpaired surrogate in the name.
    let mut surrogate = good.clone();
    let at = good.len() - 1 - 2 - 1 - 1 - 2; // last byte of the name's single code unit
    surrogate[at - 1] = 0x00;
    surrogate[at] = 0xd8;
    hostile.push(surrogate);
    // A length that runs past the end, and a length of more than five bytes.
    let mut long = good[..28].to_vec();
    long.extend([0xff, 0xff, 0xff, 0xff, 0x0f]);
    hostile.push(long);
    let mut endless = good[..28].to_vec();
    endless.extend([0x80; 6]);
    hostile.push(endless);
    for payload in hostile {
        let cookie = issue(&key, &payload, &random);
        assert!(key.open(&cookie).is_err(), "{payload:?}");
    }
}
