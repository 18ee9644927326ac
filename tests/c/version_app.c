/* Built against an installed prefix with `pkg-config --cflags --libs conference_sdk`
 * (tests/install.rs): prints the library's version; fails when it is not the header's. */
#include <stdio.h>
#include <string.h>

#include <conference_sdk.h>

int main(void) {
    const char *version = conference_sdk_version();
    if (version == NULL || strcmp(version, CONFERENCE_SDK_VERSION) != 0) {
        fprintf(stderr, "library version %s, header version %s\n",
                version ? version : "(null)", CONFERENCE_SDK_VERSION);
        return 1;
    }
    printf("conference_sdk %s\n", version);
    return 0;
}
