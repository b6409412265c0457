//! The MLS working group's test vectors, one test per family, every case
//! for every cipher suite the default provider implements.

#[path = "../kat/mod.rs"]
mod kat;

macro_rules! families {
    ($($name:ident => $file:literal),* $(,)?) => {$(
        #[test]
        fn $name() {
            kat::assert_family($file);
        }
    )*};
}

families! {
    tree_math => "tree-math.json",
    tree_operations => "tree-operations.json",
    tree_validation => "tree-validation.json",
    treekem => "treekem.json",
    crypto_basics => "crypto-basics.json",
    secret_tree => "secret-tree.json",
    key_schedule => "key-schedule.json",
    psk_secret => "psk_secret.json",
    messages => "messages.json",
    deserialization => "deserialization.json",
    message_protection => "message-protection.json",
    transcript_hashes => "transcript-hashes.json",
    welcome => "welcome.json",
    passive_client_welcome => "passive-client-welcome.json",
    passive_client_handling_commit => "passive-client-handling-commit.json",
    partial_message_syntax => "partial/test-vector-partial-message-syntax.json",
    partial_message_syntax_spec => "partial/test-vector-partial-message-syntax-spec.json",
    partial_membership_proofs => "partial/test-vector-partial-membership-proofs.json",
    partial_membership_proofs_spec => "partial/test-vector-partial-membership-proofs-spec.json",
    partial_tree_operations => "partial/test-vector-partial-tree-operations.json",
    partial_tree_operations_spec => "partial/test-vector-partial-tree-operations-spec.json",
    partial_sender_authenticated_messages => "partial/test-vector-partial-sender-authenticated-messages.json",
    partial_sender_authenticated_messages_spec => "partial/test-vector-partial-sender-authenticated-messages-spec.json",
    partial_annotated_welcome => "partial/test-vector-partial-annotated-welcome.json",
    partial_annotated_welcome_spec => "partial/test-vector-partial-annotated-welcome-spec.json",
    partial_annotated_commit => "partial/test-vector-partial-annotated-commit.json",
    partial_annotated_commit_spec => "partial/test-vector-partial-annotated-commit-spec.json",
    partial_passive_client_scenarios_spec => "partial/test-vector-partial-passive-client-scenarios-spec.json",
}
