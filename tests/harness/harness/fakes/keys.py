"""The API keys workers are given for the FAKES: plainly not secrets, and checked by the fakes
(each refuses a request without its key, as the real API does)."""

FAKE_OPENAI_KEY = "sk-fake-openai-key-not-a-secret"
FAKE_DEEPGRAM_KEY = "fake-deepgram-key-not-a-secret"
FAKE_SARVAM_KEY = "fake-sarvam-key-not-a-secret"
