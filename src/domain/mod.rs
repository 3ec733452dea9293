//! Domain types: user input is parsed into these once, at the edge, and the
//! rest of the program can rely on them being valid.

mod new_subscriber;
mod publication;
mod signup_plan;
#[cfg(test)]
pub(crate) mod strategies;
mod subscriber_email;
mod subscriber_name;
mod subscription_status;
mod token;
mod topics;

pub use new_subscriber::{ConsentSource, FieldErrors, NewSubscriber, SignupInput};
pub use publication::{NewPublication, PublicationInput};
pub use signup_plan::{ConfirmationThrottle, SignupPlan, ThrottleState, plan_signup};
pub use subscriber_email::{EmailError, SubscriberEmail};
pub use subscriber_name::{NameError, SubscriberName};
pub use subscription_status::{SubscriptionStatus, UnknownStatus};
pub use token::{Token, TokenHash};
pub use topics::{Topic, TopicError, Topics};
