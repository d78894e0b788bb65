//! An evidence file as a forger could write it (`incident check`'s input): any lines end in an
//! answer, never a panic, and a file whose header names a key its checkpoints were not signed
//! with never holds. The header's own key is used when it names one, so that inputs derived
//! from a real evidence file (the seeds) reach the records' checks. The header's report read
//! back whole is a report or one error, and reads back the same when printed again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use service::incident::evidence_file::{Checker, FORM};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    // The report read back whole (`incident check --report`): a report or one error; what
    // reads back prints again as JSON that reads back the same.
    if let Ok(report) = service::incident::evidence_file::report_of(header) {
        let json = serde_json::to_string(&serde_json::json!({ "report": &report })).unwrap();
        let again = service::incident::evidence_file::report_of(&json).unwrap();
        assert_eq!(
            serde_json::to_string(&again).unwrap(),
            serde_json::to_string(&report).unwrap()
        );
        let _ = report.csv_rows();
    }
    let named = serde_json::from_str::<serde_json::Value>(header)
        .ok()
        .and_then(|h| hex::decode(h["public_key"].as_str()?).ok());
    let key = named.unwrap_or_else(|| vec![7; 32]);
    let fallback = format!(
        r#"{{"evidence":"{FORM}","public_key":"{}","report":{{"selection":"x"}}}}"#,
        hex::encode(&key)
    );
    let Ok(mut checker) = Checker::new(header, &key).or_else(|_| Checker::new(&fallback, &key))
    else {
        return;
    };
    for line in lines {
        let _ = checker.line(line);
    }
    let _ = checker.finish();
});
