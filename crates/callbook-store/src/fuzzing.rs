//! Entry points for the fuzz targets (`fuzz/` at the repository's top): not a public API, and
//! only built with the `fuzzing` feature.

/// Reads `bytes` as an intake log, as a store does at open. Any input must give an answer,
/// never a panic: whole records, the end of the last one, and any damage found.
pub fn read_intake_log(bytes: &[u8], applied: u64) -> IntakeLogReading {
    crate::sqlite::fuzzing::read_intake_log(bytes, applied)
}

/// What [`read_intake_log`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeLogReading {
    /// Sequence numbers of the whole records, in file order; `None` when a record that passes
    /// its checksum does not decode (the store refuses to open then).
    pub records: Option<Vec<u64>>,
    /// Where the last whole record ends.
    pub end: u64,
    /// Offsets where damaged stretches begin.
    pub damage: Vec<u64>,
}

/// A small log holding an event and a finished attempt: a seed for the fuzzer.
pub fn sample_intake_log() -> Vec<u8> {
    crate::sqlite::fuzzing::sample_intake_log()
}
