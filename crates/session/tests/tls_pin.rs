//! The pin and validity reader against real certificates (rcgen's, through testkit).

use conference_session::{parse_pin, pin_of};
use conference_testkit::pki::TestPki;

#[test]
fn pins_are_the_sha256_of_the_subject_public_key_info() {
    let dir = std::env::temp_dir().join(format!("conference-pin-{}", std::process::id()));
    let pki = TestPki::generate(&dir);
    for cert in [&pki.server, &pki.expired, &pki.impostor] {
        assert_eq!(
            pin_of(&cert.der),
            parse_pin(&cert.pin),
            "{:?}",
            cert.certificate
        );
    }
    assert_eq!(pin_of(&pki.server.der), pin_of(&pki.expired.der), "one key");
    assert_ne!(pin_of(&pki.server.der), pin_of(&pki.impostor.der));
    let _ = std::fs::remove_dir_all(dir);
}
