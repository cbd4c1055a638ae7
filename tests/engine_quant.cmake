# Quantized models against f32 (stated tolerances in the test's header).
tb_add_test(NAME test_engine_quant_logits SOURCES test_engine_quant_logits.c
            LIBS thermabench_engine m LABELS engine)
