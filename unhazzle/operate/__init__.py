"""What a person does to a running environment besides deploying: one-off runs, retries."""
