/* placeholder: replaced by the probes issue */
