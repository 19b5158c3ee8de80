"""Keys: the encrypted keystore of the project secret."""
