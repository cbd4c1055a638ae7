/* placeholder: replaced by the engine issue */
