// The SOCK_SEQPACKET socketpair as a message queue with descriptor passing (as in
// property/unix_seqpacket.h), now under injected system call failures and kills, checked against a FIFO
// model. One generated case, run in a forked child under a fault plan with a deadline (RunCase of the ring's
// property_util.h):
//  - creating the pair: sometimes with a single free descriptor slot (a real EMFILE), while the fault layer
//    may inject EMFILE/ENFILE into socketpair (socketpair(2) ERRORS); a failed call must create nothing;
//  - a generated sequence of sends (a payload, sometimes the read end of a fresh pipe holding a tag byte) and
//    receives (MSG_DONTWAIT: on an empty queue a real EAGAIN) while the fault layer injects EINTR, ENOBUFS,
//    ENOMEM, EAGAIN into sendmsg (send(2) ERRORS), EINTR, ENOMEM, EAGAIN into recvmsg (recv(2) ERRORS) and
//    EINTR, EIO into the close of the sender's copy of a passed descriptor (close(2) ERRORS). A failed
//    sendmsg/recvmsg must take no effect (nothing sent or consumed, no descriptor passed, installed or
//    closed, the open descriptors exactly as before); the user retries it, and may report such a no-effect
//    failure only as often as faults were injected. After a failed close the descriptor is released
//    (Linux) or still open (POSIX leaves it unspecified; an injected failure leaves it open): the user asks
//    fcntl(F_GETFD) and closes it again only when it is still open, so nothing leaks or is closed twice;
//  - then, sometimes, a peer killed mid-sequence: either a process that holds the only sending end and is
//    sending (the receiver gets each message it completed, whole, with its descriptor, in order, then end
//    of file; its sends fail with EPIPE), or a process that holds the only receiving end and is receiving
//    or blocked in recvmsg (the survivor's receive gives ECONNRESET when the dead end had unread messages,
//    then end of file; its send fails with EPIPE, MSG_NOSIGNAL: no SIGPIPE).
// After every command the process holds exactly the descriptors the model says.
// Flaws make deliberately broken users of the socket that the property must catch (the teeth).
// Rules: suite/rules/unix_property.ini (and the unix.ini rules the cases reach for real).
#pragma once

#include <string>

#include "properties.h"

namespace ipc::unix_faults {

enum class UserFlaw {
  kNone,
  kFailedSendCountsAsSent,  // a sendmsg that failed is taken as sent: the message is lost
  kFailedRecvCountsAsRecv,  // a recvmsg that failed is taken as a received (empty) message
  kCloseErrorForgetsTheFd,  // after a failed close the descriptor is assumed released: a leak
};

// Runs the property (seed printed, RC_PARAMS/IPCSUITE_SOAK as for the ring's properties).
ring::prop::Outcome SeqpacketUnderFaultsAndKills(UserFlaw flaw, const ring::prop::Budget& budget,
                                                 const std::string& id);

}  // namespace ipc::unix_faults
