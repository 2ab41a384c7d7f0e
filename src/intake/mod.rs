//! Intake: turning what citizens send (email, later web forms and Open311) into inquiries.

pub mod email;
