//! The text the speed benchmarks scan.

/// A support e-mail with a realistic density of identifiers and look-alikes (generated, not
/// taken from any corpus).
pub fn email(i: usize) -> String {
    format!(
        "Hi team,\n\nThis is Maria from Acme. Please update my contact details: my new e-mail is \
         maria.{i}@acme-health.example and my mobile is +1 415 555 {:04}. Our order #{} from last \
         week (tracking 9400 1000 0000 0000 {:04} 00) arrived damaged. I paid with card \
         4111 1111 1111 1111 on 2024-03-{:02}. Refunds go to IBAN DE89 3704 0044 0532 0130 00.\n\
         The app version 3.14.{} crashes when I open https://portal.acme-health.example/orders/{i}; \
         our server 10.0.{}.{} logs show nothing. My SSN is not needed, right?\n\nThanks,\nMaria\n\n",
        i % 10_000,
        100_000 + i,
        i % 10_000,
        1 + i % 28,
        i % 50,
        i % 256,
        (i * 7) % 256
    )
}
