/* Internal to engine/: what generate.c and bench.c need to know about a
 * session (session.c owns the struct). */
#ifndef THERMABENCH_ENGINE_SESSION_H
#define THERMABENCH_ENGINE_SESSION_H

#include "engine.h"

const engine_model *session_model(const engine_session *s);
int session_max_batch(const engine_session *s);
int session_max_seq_len(const engine_session *s);

#endif
