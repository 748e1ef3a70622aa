"""Architecture-sampling controllers (ENAS LSTM) and their training."""
