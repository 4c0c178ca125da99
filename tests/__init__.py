"""Every test folder is a package: modules import as ``tests.<domain>.test_x``, so basenames cannot clash."""
