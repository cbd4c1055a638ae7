/* placeholder: replaced by the reports issue */
