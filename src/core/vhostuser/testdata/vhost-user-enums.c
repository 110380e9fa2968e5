/* Written for the lint tests of this project: enums in the shape QEMU uses, with seeded differences
 * from mini-spec.rst (SET_FEATURES has another value, POSTCOPY_END is absent, GET_STATUS is extra). */
typedef enum VhostUserRequest {
    VHOST_USER_NONE = 0,
    VHOST_USER_GET_FEATURES = 1,
    VHOST_USER_SET_FEATURES = 3,
    VHOST_USER_POSTCOPY_ADVISE = 2,
    VHOST_USER_GET_STATUS,
    VHOST_USER_MAX
} VhostUserRequest;

typedef enum VhostUserBackendRequest {
    VHOST_USER_BACKEND_NONE = 0,
    VHOST_USER_BACKEND_IOTLB_MSG = 1,
    VHOST_USER_BACKEND_MAX
} VhostUserBackendRequest;

enum VhostUserProtocolFeature {
    VHOST_USER_PROTOCOL_F_MQ = 0,
    VHOST_USER_PROTOCOL_F_REPLY_ACK = 1,
    VHOST_USER_PROTOCOL_F_PAGEFAULT = 0x3,
    VHOST_USER_PROTOCOL_F_MAX
};

#define VHOST_USER_F_PROTOCOL_FEATURES 30
