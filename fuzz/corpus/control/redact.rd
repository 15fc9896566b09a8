earshot-redact-v1	12	caller	21050000	27850000	silence	1796656759924176	transcription	spoken card number
