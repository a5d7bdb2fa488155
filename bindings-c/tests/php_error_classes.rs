//! The PHP package maps statuses to exception classes in `bindings-php/src/Errors.php`
//! (`Errors::CLASSES`, one `NNN => FooException::class,` line per status). That map
//! must be the core's table (`ErrorCode::php_class`): one entry per code, no other.
//! The PHPUnit suite checks the same file against the C ABI's status names.

use std::collections::BTreeMap;

use convtrack_core::error::ErrorCode;

/// `Errors::CLASSES` as status number -> class name (without `::class`).
fn php_classes() -> BTreeMap<u32, String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../bindings-php/src/Errors.php");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let start = text.find("public const CLASSES = [").unwrap_or_else(|| panic!("{path}: no CLASSES map"));
    let block = &text[start..];
    let block = &block[..block.find("];").unwrap_or_else(|| panic!("{path}: CLASSES map not closed"))];
    let mut map = BTreeMap::new();
    for line in block.lines().skip(1) {
        let entry = line.split("//").next().unwrap_or("").trim();
        if entry.is_empty() {
            continue;
        }
        let (number, class) = entry.split_once("=>").unwrap_or_else(|| panic!("{path}: unexpected line {line:?}"));
        let number: u32 = number.trim().parse().unwrap_or_else(|_| panic!("{path}: unexpected line {line:?}"));
        let class = class.trim().trim_end_matches(',').trim_end_matches("::class");
        assert!(map.insert(number, class.to_string()).is_none(), "{path}: status {number} mapped twice");
    }
    map
}

#[test]
fn php_error_classes_are_the_core_table() {
    let php = php_classes();
    let core: BTreeMap<u32, String> = ErrorCode::ALL.iter().map(|c| (c.as_u32(), c.php_class().to_string())).collect();
    assert_eq!(php, core, "bindings-php/src/Errors.php CLASSES (left) differs from ErrorCode::php_class (right)");
}
