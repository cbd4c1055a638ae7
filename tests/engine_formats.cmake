# Engine file formats, element types, tokenizer and synthetic models.
tb_add_test(NAME test_engine_formats_dtype SOURCES test_engine_formats_dtype.c
            LIBS thermabench_engine LABELS engine)
tb_add_test(NAME test_engine_formats SOURCES test_engine_formats.c
            LIBS thermabench_engine LABELS engine)
tb_add_test(NAME test_engine_tokenizer SOURCES test_engine_tokenizer.c
            LIBS thermabench_engine LABELS engine)
tb_add_test(NAME test_engine_tokenizer_bpe SOURCES test_engine_tokenizer_bpe.c
            LIBS thermabench_engine PkgConfig::CJSON LABELS engine)
