"""package stage: v0 transactions with compute budget and tip, lookup tables, the size limit, signing, bundles."""
