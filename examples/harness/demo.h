/*
 * demo.h: the demo lesson (scripts/demo.sh): the teacher lectures with video and audio,
 * class1 raises a hand and answers on camera, class2 shares a worksheet on the aux stream,
 * everyone chats; each endpoint prints a timeline of what it saw.
 */
#ifndef DEMO_H
#define DEMO_H

#include "lesson.h"

void demo_teacher(const args_t *args);
/* `user` is CLASS1 or CLASS2. */
void demo_listener(const args_t *args, const char *user);

#endif /* DEMO_H */
